"""The rules the submit-time validation shares with later stages (issue 19): the bounded
parsers, the Hub allow-list matched per path segment, and names as artifact key parts."""

from __future__ import annotations

import pytest

from services.common.spec import ExperimentSpec
from services.common.spec.catalog import hub_id_matches, model_not_allowed
from services.common.spec.parsing import MAX_INT_DIGITS, ParseError, load_json, load_yaml
from services.common.storage.artifacts import artifact_key, key_part_problem


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("HuggingFaceTB/SmolLM2-135M", True),
        ("HuggingFaceTB/a/b", False),  # '*' crossed '/' before: loaded as a relative dir
        ("HuggingFaceTB/..", False),
        ("HuggingFaceTB/.", False),
        ("HuggingFaceTB/", False),
        ("HuggingFaceTB", False),
        ("Other/SmolLM2", False),
    ],
)
def test_hub_patterns_match_per_path_segment(name, allowed):
    assert (model_not_allowed(name, "HuggingFaceTB/*") is None) == allowed
    assert hub_id_matches(name, "HuggingFaceTB/*") == allowed


def test_a_star_pattern_admits_single_segment_ids_only():
    assert hub_id_matches("gpt2", "*") and not hub_id_matches("org/gpt2", "*")
    assert hub_id_matches("org/gpt2", "*/*")


@pytest.mark.parametrize("name", ["a..b", "..", "a/b", "-a", ""])
def test_a_name_the_spec_refuses_is_a_key_part_the_store_refuses(name):
    assert key_part_problem(name) is not None
    with pytest.raises(ValueError, match="invalid artifact key part"):
        artifact_key("experiments", name)
    with pytest.raises(ValueError):
        ExperimentSpec(name=name)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[" * 50 + "]" * 50, "too_deep"),
        ("[" * 200_000, "too_deep"),
        ("1" * (MAX_INT_DIGITS + 1), "int_too_large"),
        ("-" + "1" * 5000, "int_too_large"),
        ("NaN", "not_finite"),
        ("-Infinity", "not_finite"),
        ("1e400", "not_finite"),
        ('{"a": }', "json_invalid"),
        (b"\xff", "unicode_error"),
    ],
)
def test_json_parser_bounds(text, kind):
    with pytest.raises(ParseError) as info:
        load_json(text)
    assert info.value.kind == kind


def test_json_parser_keeps_ordinary_values():
    assert load_json('{"a": [1, -2.5, true, null, "x"], "b": {"c": ' + "9" * 40 + "}}") == {
        "a": [1, -2.5, True, None, "x"],
        "b": {"c": int("9" * 40)},
    }


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("a: &x 1\nb: *x\n", "yaml_alias"),
        ("a: !!binary aGk=\n", "yaml_tag"),
        ("a: !!set {x}\n", "yaml_tag"),
        ("a: !custom 1\n", "yaml_tag"),
        ("a: .NaN\n", "not_finite"),
        ("a: -.inf\n", "not_finite"),
        ("a: 1\n2: b\n", "key_type"),
        ("? [1, 2]\n: x\n", "key_type"),
        ("a: " + "1" * 5000 + "\n", "int_too_large"),
        ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 40)), "too_deep"),
        ("a: [\n", "yaml_error"),
        ("a: 1\n---\nb: 2\n", "yaml_error"),
    ],
)
def test_yaml_parser_bounds(text, kind):
    with pytest.raises(ParseError) as info:
        load_yaml(text)
    assert info.value.kind == kind


def test_yaml_parser_keeps_plain_values_and_leaves_dates_as_text():
    text = "a: [1, 2.5, true, null, x]\nb: 2024-01-01\nc: {d: '1'}\n<<: e\n"
    assert load_yaml(text) == {
        "a": [1, 2.5, True, None, "x"],
        "b": "2024-01-01",
        "c": {"d": "1"},
        "<<": "e",
    }
    assert load_yaml("") is None
