"""The shape of the tree, checked: imports flow cli/local -> api/gpu_worker/analysis ->
common and never back; no module imports itself in a circle; modules and functions stay
small enough to read; no block of code is copied. docs/ARCHITECTURE.md explains the rooms.

Lazy imports inside functions count: a function-level import is still a dependency.
"""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ROOT / "services"

# Which rooms each room may import (besides itself). The services depend only on common;
# the local pipeline and the command line sit on top.
ALLOWED = {
    "common": set(),
    "api": {"common"},
    "gpu_worker": {"common"},
    "analysis": {"common"},
    "local": {"gpu_worker", "analysis", "common"},
    "cli": {"local", "api", "gpu_worker", "analysis", "common"},
}

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
# Exceptions, each with its reason (shown in the failure message if it grows).
LONG_FUNCTIONS = {
    # An Alembic migration is the schema written out column by column; splitting it
    # would only scatter one table definition over helper functions.
    "services/common/migrations/versions/0001_initial_schema.py::upgrade": "migration",
}
DUPLICATE_WINDOW = 6


def _py_files(*dirs: Path) -> list[Path]:
    return sorted(p for d in dirs for p in d.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """The services modules ``path`` imports (``from pkg import mod`` resolves to pkg.mod)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "services"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "services":
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return found


def _graph() -> dict[str, set[str]]:
    files = _py_files(SERVICES)
    known = {_module_name(p) for p in files}
    return {_module_name(p): _imports(p, known) & known for p in files}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "services"


def test_rooms_import_only_downwards() -> None:
    graph = _graph()
    rooms = {_room(m) for m in graph} - {"services"}
    assert rooms == set(ALLOWED), f"a new room needs a rule here and in docs: {rooms}"
    bad = sorted(
        f"{src} -> {dst}"
        for src, targets in graph.items()
        for dst in targets
        if _room(src) != _room(dst) and _room(dst) not in ALLOWED.get(_room(src), set())
    )
    assert not bad, "imports against the flow cli/local -> services -> common:\n" + "\n".join(bad)


def test_services_never_import_tests_bench_or_scripts() -> None:
    bad = []
    for path in _py_files(SERVICES):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            bad += [
                f"{path}: {n}" for n in names if n.split(".")[0] in {"tests", "bench", "scripts"}
            ]
    assert not bad, bad


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    # a package's __init__ re-exporting its own modules is not a cycle between modules
    graph = {
        m: {t for t in ts if not (t.startswith(m + ".") or m.startswith(t + "."))}
        for m, ts in _graph().items()
    }
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# The size and copy rules cover the whole tree, not only services/. Generated code (the
# OpenAPI client, regenerated by `make client`) and migrations are left out by name.
CHECKED_TREES = ("services", "bench", "scripts", "clients/sdk", "tests")
GENERATED = ("clients/python", "services/common/migrations")
LONG_MODULES: dict[str, str] = {}


def _checked_files(tree: str) -> list[Path]:
    return [
        p
        for p in _py_files(ROOT / tree)
        if not any(p.relative_to(ROOT).as_posix().startswith(g) for g in GENERATED)
    ]


@pytest.mark.parametrize("tree", CHECKED_TREES)
def test_modules_and_functions_stay_small(tree: str) -> None:
    too_long = []
    for path in _checked_files(tree):
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES and rel not in LONG_MODULES:
            too_long.append(f"{rel}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES and f"{rel}::{node.name}" not in LONG_FUNCTIONS:
                    too_long.append(f"{rel}::{node.name}: {n} lines")
    assert not too_long, (
        f"over {MAX_MODULE_LINES} lines per module / {MAX_FUNCTION_LINES} per function:\n"
        + "\n".join(too_long)
    )


def _name_list_lines(tree: ast.Module) -> set[int]:
    """Lines of import statements and ``__all__``: lists of names, not code."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        names = isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        )
        if isinstance(node, ast.Import | ast.ImportFrom) or names:
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped text) of the lines that carry code: no blanks, comments,
    docstring-only lines, imports or ``__all__``, or lone brackets."""
    skip = {")", "]", "}", "),", "],", "},", "):", '"""', "else:", "try:", "finally:"}
    text = path.read_text()
    names = _name_list_lines(ast.parse(text))
    out = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or no in names or line.startswith("#") or line in skip:
            continue
        out.append((no, line))
    return out


def duplicate_blocks(files: list[Path], window: int = DUPLICATE_WINDOW) -> list[str]:
    """Places where ``window`` consecutive code lines repeat an earlier block verbatim."""
    first: dict[str, str] = {}
    repeats: list[str] = []
    for path in files:
        lines = _code_lines(path)
        last_reported = -window
        for i in range(len(lines) - window + 1):
            block = "\n".join(text for _, text in lines[i : i + window])
            key = hashlib.sha1(block.encode()).hexdigest()
            where = f"{path.relative_to(ROOT)}:{lines[i][0]}"
            if key in first and i >= last_reported + window:
                repeats.append(f"{where} repeats {first[key]}")
                last_reported = i
            first.setdefault(key, where)
    return repeats


def test_duplicate_finder_finds_a_copy(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = f({i})\n" for i in range(7))
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("def one():\n" + body)
    b.write_text("def two():\n" + body)
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert duplicate_blocks([a, b]) == ["b.py:2 repeats a.py:2"]
        assert duplicate_blocks([a]) == []
    finally:
        ROOT = saved


@pytest.mark.parametrize("tree", CHECKED_TREES)
def test_no_copied_blocks(tree: str) -> None:
    repeats = duplicate_blocks(_checked_files(tree))
    assert not repeats, f"{DUPLICATE_WINDOW}+ identical code lines repeated:\n" + "\n".join(repeats)


# Storage keys and an experiment's file layout have one owner: services/common/storage/layout.py
# (artifacts.py validates key parts). Anywhere else, a key built by hand is a second owner.
LAYOUT_OWNERS = {"services/common/storage/layout.py", "services/common/storage/artifacts.py"}
_HAND_BUILT_KEY = re.compile(
    r"""artifact_key\(|f?["'](experiments|runs|datasets|figures)/|/ ["'](runs|figures)["']"""
)


def hand_built_keys(files: list[Path]) -> list[str]:
    """Lines outside the layout owners that build a storage key or an output path."""
    found = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if rel in LAYOUT_OWNERS:
            continue
        for no, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if _HAND_BUILT_KEY.search(code) and not code.lstrip().startswith(('"', "'")):
                found.append(f"{rel}:{no}: {line.strip()}")
    return found


def test_hand_built_key_finder_finds_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('key = f"experiments/{eid}/runs/{rid}/states.safetensors"\n')
    bad2 = tmp_path / "bad2.py"
    bad2.write_text('k = artifact_key("experiments", eid)\np = out / "runs" / key\n')
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert len(hand_built_keys([bad, bad2])) == 3
    finally:
        ROOT = saved


def test_storage_keys_are_built_only_in_layout() -> None:
    found = hand_built_keys(_py_files(SERVICES))
    assert not found, "storage keys built outside services/common/storage/layout.py:\n" + "\n".join(
        found
    )


def public_without_docstring(files: list[Path]) -> list[str]:
    """Public functions and classes (module level, or public methods of public classes)
    that have no docstring."""
    missing: list[str] = []

    def visit(body: list[ast.stmt], rel: str, public: bool, prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                is_public = public and not node.name.startswith("_")
                if is_public and ast.get_docstring(node) is None:
                    missing.append(f"{rel}:{node.lineno} {prefix}{node.name}")
                if isinstance(node, ast.ClassDef):
                    visit(node.body, rel, is_public, f"{prefix}{node.name}.")

    for path in files:
        visit(ast.parse(path.read_text()).body, path.relative_to(ROOT).as_posix(), True, "")
    return missing


def test_the_docstring_counter_counts(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        'def a():\n    """Doc."""\n\ndef b(): pass\n\ndef _c(): pass\n\n'
        "class D:\n    def e(self): pass\n    def _f(self): pass\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert public_without_docstring([module]) == ["m.py:4 b", "m.py:8 D", "m.py:9 D.e"]
    finally:
        ROOT = saved


def test_every_public_function_and_class_in_services_has_a_docstring() -> None:
    missing = public_without_docstring(_checked_files("services"))
    assert not missing, f"{len(missing)} without a docstring:\n" + "\n".join(missing)
