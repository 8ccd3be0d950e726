"""The Vega-Lite plots of finished experiments, in Chromium, on the real embedded stack:
hover shows a tooltip on a layer plot, a legend click picks the series shown (hiding the
others), the primary measure is the default with its significance layer, the per-example
view draws one line per example and seed, and Compare overlays two experiments, draws
their difference and diffs their specs."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.services
DRAW_PRIMARY = """([cell]) => IclPlots.embed("curve", document.querySelector("#curve"),
  IclPlots.layerSpec(IclPlots.cellRows(cell, IclPlots.PRIMARY))).then(() => true)"""

LINES = "g.lines_marks path"  # one path per series (plots.js names its layers)
POINTS = "g.points_marks path"
LEGEND_LABELS = "g.role-legend-label text"


def _experiment_page(open_page: Any, stack: Any, key: str, experiment_id: str) -> Any:
    page = open_page(stack.url, key)
    page.goto(f"/ui/experiments/{experiment_id}")
    page.wait_for_selector(f"#curve {POINTS}", timeout=60_000)
    return page


def _opacities(page: Any, plot: str) -> list[float]:
    paths = page.locator(f"{plot} {LINES}")
    return [float(paths.nth(i).get_attribute("opacity") or 1) for i in range(paths.count())]


def test_layer_plot_defaults_to_the_primary_measure_and_hover_shows_a_tooltip(
    open_page: Any, surface_stack: Any, user_key: str, finished: dict[str, Any], shot: Any
) -> None:
    page = _experiment_page(open_page, surface_stack, user_key, finished["id"])
    assert page.input_value("#metric") == "primary"
    labels = page.locator(f"#curve {LEGEND_LABELS}").all_text_contents()
    assert "matched − mismatched" in labels, labels
    assert page.locator(f"#curve {LINES}").count() == len(labels) == 3
    assert "max-T" in page.inner_text("#curve-note")
    assert page.locator("#curve g.significant_marks").count() == 1  # the layer exists

    point = page.locator(f"#curve {POINTS}").nth(5)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator("#vg-tooltip-element.visible")
    tooltip.wait_for()
    text = tooltip.inner_text()
    assert "layer" in text and "mean" in text and "CI low" in text, text
    shot(page.locator("#curve"), "layer-plot-tooltip")

    page.mouse.move(5, 5)  # away: the tooltip goes
    page.wait_for_selector("#vg-tooltip-element.visible", state="detached")


def test_the_layers_significant_after_max_t_get_a_marker(
    open_page: Any, surface_stack: Any, user_key: str, finished: dict[str, Any], http: Any
) -> None:
    """The tiny model has no significant layer; the same cell with two layers marked
    significant by its family-wise test draws two markers, at those layers."""
    page = _experiment_page(open_page, surface_stack, user_key, finished["id"])
    cell = http.get(f"/v1/experiments/{finished['id']}/results").json()["cells"][0]
    assert page.locator("#curve g.significant_marks path").count() == len(
        cell["primary"]["family_wise"]["significant_layers"]
    )
    cell["primary"]["family_wise"]["significant_layers"] = [2, 4]
    page.evaluate(DRAW_PRIMARY, [cell])
    markers = page.locator("#curve g.significant_marks path")
    markers.first.wait_for()
    assert markers.count() == 2
    labels = markers.evaluate_all("ps => ps.map(p => p.getAttribute('aria-label'))")
    assert all("matched − mismatched" in (label or "") for label in labels), labels


def test_a_legend_click_hides_the_other_series_and_a_second_click_shows_them(
    open_page: Any, surface_stack: Any, user_key: str, finished: dict[str, Any], shot: Any
) -> None:
    page = _experiment_page(open_page, surface_stack, user_key, finished["id"])
    page.select_option("#metric", "cosine")
    labels = page.locator(f"#curve {LEGEND_LABELS}")
    page.wait_for_selector(f'#curve {LEGEND_LABELS}:text-is("anchor_icl")')
    n_series = labels.count()
    assert n_series >= 3
    points_before = page.locator(f"#curve {POINTS}").count()
    assert _opacities(page, "#curve") == [1.0] * n_series

    page.locator(f'#curve {LEGEND_LABELS}:text-is("anchor_icl")').click(force=True)
    page.wait_for_selector(f'#curve {LINES}[opacity="0.07"]')
    opacities = _opacities(page, "#curve")
    assert sorted(opacities) == [0.07] * (n_series - 1) + [1.0], opacities
    points_after = page.locator(f"#curve {POINTS}").count()
    assert 0 < points_after < points_before  # only the picked series keeps its points
    assert points_after * n_series == points_before
    shot(page.locator("#curve"), "layer-plot-legend-pick")

    page.locator(f'#curve {LEGEND_LABELS}:text-is("anchor_icl")').click(force=True)  # toggles back
    page.wait_for_selector(f'#curve {LINES}[opacity="0.07"]', state="detached")
    assert page.locator(f"#curve {POINTS}").count() == points_before


def test_per_example_view_draws_every_example_of_every_seed(
    open_page: Any, surface_stack: Any, user_key: str, finished: dict[str, Any], shot: Any
) -> None:
    page = _experiment_page(open_page, surface_stack, user_key, finished["id"])
    page.wait_for_selector(f"#examples-plot {LINES}")
    assert page.input_value("#ex-metric") == "shift_cosine"
    assert page.input_value("#ex-pair") == "icl_it"
    n_examples = finished["spec"]["inference"]["n"]
    n_seeds = len(finished["spec"]["seeds"])
    labels = page.locator(f"#examples-plot {LEGEND_LABELS}").all_text_contents()
    example_lines = [label for label in labels if label.startswith("example ")]
    assert len(example_lines) == n_examples * n_seeds, labels
    assert "cell mean" in labels
    assert page.locator(f"#examples-plot {LINES}").count() == len(labels)
    assert f"{n_examples * n_seeds} example lines from {n_seeds} run(s)" in page.inner_text(
        "#ex-note"
    )
    page.select_option("#ex-metric", "cosine")
    page.wait_for_selector('#examples-plot text:has-text("cosine · ")')
    shot(page.locator("#examples-plot"), "per-example")


def test_compare_overlays_two_experiments_with_difference_and_spec_diff(
    open_page: Any,
    surface_stack: Any,
    user_key: str,
    finished: dict[str, Any],
    finished_k1: dict[str, Any],
    shot: Any,
) -> None:
    page = open_page(surface_stack.url, user_key)
    page.goto(f"/ui/compare?ids={finished['id']},{finished_k1['id'][:8]}")  # a prefix works
    page.wait_for_selector(f"#overlay {LINES}", timeout=60_000)
    assert page.input_value("#cmp-metric") == "primary"
    labels = page.locator(f"#overlay {LEGEND_LABELS}").all_text_contents()
    assert any(label.startswith("surface ·") for label in labels), labels
    assert any(label.startswith("surface-k1 ·") for label in labels), labels
    assert page.locator(f"#overlay {LINES}").count() == 2  # one primary curve per experiment
    shot(page.locator("#overlay"), "compare-overlay")

    # the difference A − B of the two curves, and the specs' differing fields
    page.wait_for_selector(f"#difference {LINES}")
    assert page.locator("#diff-a option").count() == 2
    assert page.input_value("#diff-a") != page.input_value("#diff-b")
    fields = page.locator("#spec-diff tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.field)"
    )
    assert "name" in fields and "demos.k" in fields and "seeds" in fields, fields
    assert "model.name" not in fields  # identical: hidden until asked for
    page.check("#spec-all")
    assert page.locator('#spec-diff tbody tr[data-field="model.name"]').count() == 1

    # any measure and pair, any number of cells
    page.select_option("#cmp-metric", "cosine")
    page.select_option("#cmp-pair", "icl_it")
    page.wait_for_selector(f'#overlay {LEGEND_LABELS}:text-matches("· icl_it$")')
    assert page.locator(f"#overlay {LINES}").count() == 2
    page.select_option("#cmp-pair", "")
    page.wait_for_selector(f'#overlay {LEGEND_LABELS}:text-matches("· anchor_icl$")')
    assert page.locator(f"#overlay {LINES}").count() >= 6


def test_tuning_loss_curves_from_each_runs_tuning_artifact(
    open_page: Any, surface_stack: Any, user_key: str, finished: dict[str, Any], http: Any
) -> None:
    """One loss curve per adapter of the chosen run, from its ``tuning`` artifact."""
    listed = http.get(f"/v1/experiments/{finished['id']}/artifacts").json()["data"]
    tuning = [a for a in listed if a["kind"] == "tuning"]
    if not tuning:
        pytest.skip("this build lists no tuning artifacts (per-run tuning.json)")
    page = _experiment_page(open_page, surface_stack, user_key, finished["id"])
    page.wait_for_selector("#tuning-plot svg")
    assert page.locator("#tuning-run option").count() == len(tuning)
    doc = http.get(tuning[0]["url"]).json()
    expected = [f"adapter {a['adapter']} ({a['condition']})" for a in doc["adapters"]]
    labels = page.locator("#tuning-plot g.role-legend-label text").all_text_contents()
    assert sorted(labels) == sorted(expected), labels
    assert f"{len(doc['adapters'])} adapters" in page.inner_text("#tuning-note")
    assert page.locator("#live").is_hidden()  # finished before the page opened
