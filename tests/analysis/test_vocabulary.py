"""The analysis vocabulary: groups of pairs named once, and the formatters every table,
figure and statement uses."""

from __future__ import annotations

import math

from services.analysis.metrics import NORM_PAIRS, PAIRS, SHIFT_PAIRS, pairs_for
from services.analysis.vocabulary import (
    ANSWER_CONDITIONS,
    IT_CONTROL_PAIRS,
    PAIR_LABELS,
    PAPER_METRICS,
    PAPER_PAIRS,
    SHIFT_CONDITIONS,
    SHIFT_PAIR_LABELS,
    cell_title,
    fmt_ci,
    fmt_slice,
)


def test_pair_groups_are_pairs_the_metrics_compute() -> None:
    assert set(PAPER_PAIRS) <= set(PAIRS)
    assert set(IT_CONTROL_PAIRS) == set(SHIFT_PAIRS) - {"icl_it"}
    assert {f"anchor_{c}" for c in SHIFT_CONDITIONS} <= set(NORM_PAIRS)
    assert set(ANSWER_CONDITIONS) == {c for pair in PAPER_PAIRS for c in PAIRS[pair]}
    assert set(PAPER_METRICS) == {"cosine", "centered_cosine", "cka"}
    assert set(pairs_for("cka", list(ANSWER_CONDITIONS))) == set(PAPER_PAIRS)


def test_every_computed_pair_has_a_label() -> None:
    assert set(PAIRS) | set(NORM_PAIRS) <= set(PAIR_LABELS)
    assert set(SHIFT_PAIRS) | set(NORM_PAIRS) <= set(SHIFT_PAIR_LABELS)


def test_norm_pairs_are_the_shifts_of_icl_and_every_it_shaped_condition() -> None:
    assert NORM_PAIRS == {
        "anchor_icl": ("anchor", "icl"),
        "anchor_it": ("anchor", "it"),
        "anchor_it_cross": ("anchor", "it_cross"),
        "anchor_it_shuffled": ("anchor", "it_shuffled"),
        "anchor_it_random": ("anchor", "it_random"),
    }
    assert list(NORM_PAIRS)[:2] == ["anchor_icl", "anchor_it"]


def test_fmt_ci() -> None:
    assert fmt_ci(0.1234, 0.1, 0.15) == "0.123 [0.100, 0.150]"
    assert fmt_ci(0.5, None, math.nan, digits=1, sep=",") == "0.5 [n/a,n/a]"


def test_fmt_slice() -> None:
    assert fmt_slice({}) == ""
    assert fmt_slice({"demos.k": 4, "lora.r": 8}) == "demos.k=4, lora.r=8"


def test_cell_title_for_reports_and_for_terminal_columns() -> None:
    rnd = {"factors": {"model.name": "smollm2-135m"}, "control": "random_init"}
    assert cell_title(rnd) == "model.name=smollm2-135m, [random-init model]"
    assert cell_title(rnd, 30, terse=True) == "CONTROL random-init name=smoll"
    base = {"factors": {}, "control": "none"}
    assert cell_title(base) == "base configuration"
    assert cell_title(base, 30, terse=True) == "base"
    two = {"factors": {"lora.r": 8, "demos.k": 4}, "control": "none"}
    assert cell_title(two) == "lora.r=8, demos.k=4"
    assert cell_title(two, 30, terse=True) == "k=4, r=8"  # sorted by the full key
    assert cell_title(two, 10) == "lora.r=8,…"


def test_cells_are_labelled_by_their_factors_uniquely_and_keep_their_ids() -> None:
    from services.analysis.vocabulary import label_cells

    cells = [
        {"cell": "a" * 16, "control": "none", "studies": ["main"], "factors": {"demos.k": 8}},
        {"cell": "b" * 16, "control": "none", "studies": ["noisy"], "factors": {"demos.k": 8}},
        {"cell": "c" * 16, "control": "none", "studies": ["main"], "factors": {}},
        {
            "cell": "d" * 16,
            "control": "random_init",
            "studies": ["controls"],
            "factors": {"model.name": "m", "demos.selection": "random"},
        },
    ]
    labelled = label_cells(cells)
    assert [c["label"] for c in labelled] == [
        "k=8 [main]",  # two cells share their factors: their studies tell them apart
        "k=8 [noisy]",
        "base",
        "random-init model: name=m, selection=random",
    ]
    assert [c["cell"] for c in labelled] == [c["cell"] for c in cells]
    assert list(labelled[0])[:2] == ["cell", "label"]
    assert cell_title(labelled[3], 20) == "random-init model: …"
    same = [dict(cells[0]), dict(cells[0], cell="e" * 16)]
    assert [c["label"] for c in label_cells(same)] == [
        "k=8 [main] #aaaaaaaa",
        "k=8 [main] #eeeeeeee",
    ]
