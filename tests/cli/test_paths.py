"""Paths the command line and the local stack derive from their own location (they moved
into services/cli/ and services/local/; a wrong parent level only shows in `make demo`)."""

from __future__ import annotations


def test_the_demo_finds_the_default_spec() -> None:
    from services.cli.demo import DEFAULT_SPEC, REPO_ROOT

    assert DEFAULT_SPEC.is_file(), DEFAULT_SPEC
    assert (REPO_ROOT / "services" / "__init__.py").is_file()


def test_the_stack_puts_the_repository_root_on_the_workers_path() -> None:
    from services.local.stack import ROOT

    assert (ROOT / "services" / "__init__.py").is_file(), ROOT
