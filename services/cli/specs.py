"""Spec files on the command line: read YAML/JSON, apply --preset/--scale/--set, explain
validation errors by field, and point a spec at a local JSONL dataset (``--data FILE``).
Shared by the local commands, the remote commands and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.common.spec import DataSpec, ExperimentSpec
from services.common.spec.diagnose import SpecInvalid, validate_spec

DATA_HELP = "your own dataset: JSONL, CSV or Parquet (docs/DATA.md); sets data.task"


def load_spec(
    path: str | None, preset: str | None, scale: str | None, overrides: list[str]
) -> ExperimentSpec:
    """Read a YAML/JSON spec file, apply --preset/--scale and --set a.b=value overrides.
    Files and values are read with the service's bounded parsers (a ParseError, a
    ValueError, names the line)."""
    from services.common.spec.parsing import load_json, load_yaml

    data: dict[str, Any] = {}
    if path:
        text = Path(path).read_bytes()
        data = (load_json(text) if path.endswith(".json") else load_yaml(text)) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a spec file holds a mapping of fields")
    if preset:
        data["preset"] = preset
    if scale:
        data["scale"] = scale
    if any(item.startswith("data.hf=") for item in overrides) and not any(
        item.startswith("data.task=") for item in overrides
    ):  # --set data.hf=NAME names the dataset in place of the file's data.task
        data.get("data", {}).pop("task", None)
    for item in overrides:
        dotted, _, raw = item.partition("=")
        target = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = load_yaml(raw)
    return validate_spec(data)


def format_validation(exc: Exception) -> str:
    """A spec's validation errors as ``field.path: message`` lines, for the terminal:
    every problem, each once, with a "did you mean" for unknown keys and values."""
    from pydantic import ValidationError

    if isinstance(exc, SpecInvalid):
        lines = [f"invalid spec ({len(exc.issues)} error(s)):"]
        lines += [f"  {issue.path}: {issue.msg}" for issue in exc.issues]
        return "\n".join(lines)
    if isinstance(exc, ValidationError):
        lines = [f"invalid spec ({exc.error_count()} error(s)):"]
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(spec)"
            lines.append(f"  {loc}: {err['msg']}")
        return "\n".join(lines)
    return f"invalid spec: {exc}"


def with_local_dataset(
    spec: ExperimentSpec, path: Path, options: dict[str, Any] | None = None
) -> ExperimentSpec:
    """Store a dataset file (JSONL, CSV or Parquet, through the column mapping of
    ``options``) where the in-process engine reads uploads; point data.task at it.

    The id is the stored JSONL's content hash, so the same file is stored once.
    """
    import hashlib

    from services.common.runtime.settings import get_settings
    from services.common.storage.artifacts import ArtifactStore
    from services.common.storage.dataset_formats import ColumnMapping, normalize_upload
    from services.common.storage.layout import dataset_key

    options = options or {}
    mapping = ColumnMapping(
        options.get("text_column"),
        options.get("label_column"),
        tuple(options.get("label_names") or ()),
    )
    # the same reading and checks as an upload
    _, _, raw = normalize_upload(
        path.read_bytes(), fmt=options.get("format"), filename=path.name, mapping=mapping,
        name=path.name,
    )  # fmt: skip
    dataset_id = hashlib.sha256(raw).hexdigest()[:32]
    ArtifactStore(get_settings().artifacts).put(dataset_key(dataset_id), raw)
    data = DataSpec(task=f"upload:{dataset_id}")  # replaces a data.hf of the spec
    return spec.model_copy(update={"data": data})
