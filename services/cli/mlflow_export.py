"""``icl-it export ID --to mlflow``: a finished experiment logged to an MLflow tracking store.

What lands where (docs/EXPORTS.md, "MLflow"):

- one parent run per experiment, named after its spec: the resolved spec flattened into
  parameters (``demos.k``, ``lora.r``, ``controls``, ...), tags (``icl_it.experiment_id``,
  ``icl_it.schema``, one ``statement.<study>.<kind>`` per statement), the statements as
  the run's description and as ``statements.md``, and the artifacts ``results.json``,
  ``report.html``, ``figures/*.png`` and the cells table ``cells.csv``;
- one nested run per cell, named by its factors: the factors, control, studies and cell id
  as parameters, and every metric x pair of the cell as a metric whose step is the layer
  index (0 = embeddings, i = block i, n_layers + 1 = the final norm): ``<metric>/<pair>``
  (the mean), ``<metric>/<pair>/ci_low`` and ``/ci_high``; ``accuracy/<condition>`` (no
  layer: step 0); the primary test's numbers as ``primary/<field>`` at its layer.

The store is ``--tracking-uri``, else ``$MLFLOW_TRACKING_URI``, else a SQLite store in the
home directory (``sqlite:///$ICL_IT_HOME/mlflow.db``, artifacts in
``$ICL_IT_HOME/mlartifacts``): MLflow's file store (``./mlruns``) now refuses new
experiments unless ``MLFLOW_ALLOW_FILE_STORE=true``. Exporting an experiment that the
store already holds does nothing unless ``--replace`` is given (the old runs are deleted).
The files come from an ``icl-it run --out`` directory or, for an id, from the API through
the SDK; only this module imports mlflow (``mlflow-skinny``), and only when it is used.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.cli.mlflow_values import (
    MAX_TAG_LENGTH,
    cell_metrics,
    cell_params,
    cell_run_name,
    flatten,
    statement_tags,
    statements_markdown,
)
from services.common.storage import exports
from services.common.storage.layout import (
    FIGURES_DIR,
    REPORT_FILE,
    RESULTS_FILE,
    SUFFIXES,
    ArtifactKind,
)

EXPERIMENT_TAG = "icl_it.experiment_id"
SOURCE_TAG = "icl_it.source"  # where it came from: the API's experiment URL, or the directory
LEVEL_TAG = "icl_it.level"  # "experiment" (the parent run) or "cell"
PARENT_TAG = "mlflow.parentRunId"  # MLflow's own: nests a run under another in the UI
NOTE_TAG = "mlflow.note.content"  # MLflow's own: the run's description
STATEMENTS_FILE = "statements.md"
CELLS_TABLE_FILE = "cells.csv"
# MLflow's limits per log_batch call (mlflow.utils.validation)
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100


@dataclass
class ExperimentFiles:
    """What an export logs: the results document and the files beside it."""

    experiment_id: str  # the API's id, or the --out directory's name
    source: str  # the experiment's URL in the API, or the --out directory's absolute path
    results: dict[str, Any]
    report: bytes | None = None
    figures: dict[str, bytes] = field(default_factory=dict)  # file name -> PNG bytes


def default_tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else the SQLite store in the home directory."""
    import os

    from services.common.runtime.settings import Settings

    return os.environ.get("MLFLOW_TRACKING_URI") or (
        f"sqlite:///{(Settings().home / 'mlflow.db').resolve()}"
    )


def default_artifact_location(tracking_uri: str) -> str | None:
    """Where a new MLflow experiment keeps its artifacts: for a SQLite store, the folder
    ``mlartifacts`` beside its database file (MLflow's own default would be ``./mlruns``
    under whatever directory the command runs in); for any other store, its own choice."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix) or ":memory:" in tracking_uri:
        return None
    database = Path(tracking_uri.removeprefix(prefix).split("?", 1)[0])
    return (database.resolve().parent / "mlartifacts").as_uri()


# -- reading the experiment -----------------------------------------------------------------


def local_files(path: Path) -> ExperimentFiles:
    """The files of an ``icl-it run --out`` directory (or of its results.json)."""
    root = path if path.is_dir() else path.parent
    report = root / REPORT_FILE
    figures = sorted((root / FIGURES_DIR).glob(f"*.{SUFFIXES[ArtifactKind.FIGURE]}"))
    return ExperimentFiles(
        experiment_id=root.resolve().name,
        source=str(root.resolve()),
        results=json.loads((root / RESULTS_FILE).read_text()),
        report=report.read_bytes() if report.exists() else None,
        figures={f.name: f.read_bytes() for f in figures},
    )


def remote_files(api: Any, experiment_id: str) -> ExperimentFiles:
    """The same files through the API (the SDK's ``IclIt``): results, report, figures."""
    figures = {}
    for artifact in api.artifacts(experiment_id):
        if artifact.kind.value == ArtifactKind.FIGURE.value:
            name = f"{artifact.id.removeprefix('figure-')}.{SUFFIXES[ArtifactKind.FIGURE]}"
            figures[name] = api.download_bytes(experiment_id, artifact.id)
    return ExperimentFiles(
        experiment_id=experiment_id,
        source=f"{api.url}/v1/experiments/{experiment_id}",
        results=api.results_json(experiment_id),
        report=api.report(experiment_id).encode(),
        figures=figures,
    )


# -- logging into MLflow ---------------------------------------------------------------------


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _log(client: Any, run_id: str, params: Mapping[str, str], tags: Mapping[str, str]) -> None:
    from mlflow.entities import Param, RunTag

    for chunk in _batches([Param(k, v) for k, v in params.items()], MAX_PARAMS_TAGS_PER_BATCH):
        client.log_batch(run_id, params=chunk)
    for chunk in _batches([RunTag(k, v) for k, v in tags.items()], MAX_PARAMS_TAGS_PER_BATCH):
        client.log_batch(run_id, tags=chunk)


def _log_metrics(client: Any, run_id: str, values: list[tuple[str, float, int]]) -> None:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(key, value, now, step) for key, value, step in values]
    for chunk in _batches(metrics, MAX_METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=chunk)


def _stage_artifacts(files: ExperimentFiles, folder: Path) -> None:
    """Write the parent run's artifacts into ``folder`` (logged from there in one call)."""
    results = files.results
    (folder / RESULTS_FILE).write_text(json.dumps(results, indent=2) + "\n")
    (folder / STATEMENTS_FILE).write_text(statements_markdown(results))
    table = exports.cell_table(results, files.experiment_id)
    (folder / CELLS_TABLE_FILE).write_bytes(exports.to_csv(table))
    if files.report is not None:
        (folder / REPORT_FILE).write_bytes(files.report)
    if files.figures:
        (folder / FIGURES_DIR).mkdir()
        for name, data in files.figures.items():
            (folder / FIGURES_DIR / Path(name).name).write_bytes(data)


def _experiment_id(client: Any, name: str, tracking_uri: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = default_artifact_location(tracking_uri)
    return str(client.create_experiment(name, artifact_location=location))


def _exported_runs(client: Any, mlflow_experiment: str, source: str) -> list[Any]:
    """The runs an earlier export of the same experiment left: parents first, then their
    cells. (The source is compared here, not in the query: a path may hold any character.)"""
    parents = [
        run
        for run in client.search_runs(
            [mlflow_experiment], filter_string=f"tags.`{LEVEL_TAG}` = 'experiment'"
        )
        if run.data.tags.get(SOURCE_TAG) == source
    ]
    children = [
        child
        for run in parents
        for child in client.search_runs(
            [mlflow_experiment], filter_string=f"tags.`{PARENT_TAG}` = '{run.info.run_id}'"
        )
    ]
    return parents + children


@dataclass
class Exported:
    """Where an export went: the MLflow experiment and the parent run (and whether it was
    logged now or found from an earlier export)."""

    tracking_uri: str
    experiment_id: str
    run_id: str
    n_cells: int
    existing: bool = False


def export_to_mlflow(
    files: ExperimentFiles,
    tracking_uri: str | None = None,
    experiment_name: str | None = None,
    *,
    replace: bool = False,
) -> Exported:
    """Log ``files`` to the tracking store: the parent run and one nested run per cell."""
    from mlflow.tracking import MlflowClient

    uri = tracking_uri or default_tracking_uri()
    results = files.results
    spec = results.get("spec") or {}
    name = experiment_name or f"icl-it/{spec.get('name') or 'experiment'}"
    client = MlflowClient(tracking_uri=uri)
    mlflow_experiment = _experiment_id(client, name, uri)
    earlier = _exported_runs(client, mlflow_experiment, files.source)
    # a parent that did not finish (an export cut short) is replaced without asking
    parents = [
        r
        for r in earlier
        if r.data.tags.get(LEVEL_TAG) == "experiment" and r.info.status == "FINISHED"
    ]
    if parents and not replace:
        n_cells = len(earlier) - len(parents)
        return Exported(uri, mlflow_experiment, parents[0].info.run_id, n_cells, existing=True)
    for run in earlier:
        client.delete_run(run.info.run_id)

    base_tags = {EXPERIMENT_TAG: files.experiment_id, SOURCE_TAG: files.source}
    parent_tags = {
        **base_tags,
        LEVEL_TAG: "experiment",
        "icl_it.schema": str(results.get("schema")),
        NOTE_TAG: statements_markdown(results)[:MAX_TAG_LENGTH],
        **statement_tags(results),
    }
    parent = client.create_run(mlflow_experiment, run_name=str(spec.get("name") or "experiment"))
    parent_id = parent.info.run_id
    try:
        _log(client, parent_id, flatten(spec), parent_tags)
        with tempfile.TemporaryDirectory(prefix="icl-it-mlflow-") as tmp:
            _stage_artifacts(files, Path(tmp))
            client.log_artifacts(parent_id, tmp)
        cells = list(results.get("cells") or [])
        for cell in cells:
            _log_cell(client, mlflow_experiment, cell, {**base_tags, PARENT_TAG: parent_id})
    except BaseException:
        client.set_terminated(parent_id, "FAILED")
        raise
    client.set_terminated(parent_id)
    return Exported(uri, mlflow_experiment, parent_id, len(cells))


def _log_cell(client: Any, mlflow_experiment: str, cell: Any, tags: dict[str, str]) -> None:
    run = client.create_run(
        mlflow_experiment, run_name=cell_run_name(cell), tags={**tags, LEVEL_TAG: "cell"}
    )
    _log(client, run.info.run_id, cell_params(cell), {})
    _log_metrics(client, run.info.run_id, cell_metrics(cell))
    client.set_terminated(run.info.run_id)


# -- the command -----------------------------------------------------------------------------


def register(parser: argparse.ArgumentParser) -> None:
    """Add ``--to mlflow`` and its options to the ``icl-it export`` parser; without
    ``--to`` the command stays the long-table export it was."""
    group = parser.add_argument_group("MLflow (--to mlflow)")
    group.add_argument(
        "--to", choices=["mlflow"], help="log the experiment to an MLflow tracking store instead"
    )
    group.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
        "sqlite:///$ICL_IT_HOME/mlflow.db with artifacts in $ICL_IT_HOME/mlartifacts)",
    )
    group.add_argument(
        "--experiment-name", help="MLflow experiment (default: icl-it/<the spec's name>)"
    )
    group.add_argument(
        "--replace", action="store_true", help="delete an earlier export of it, log it again"
    )
    table_export = parser.get_default("func")

    def dispatch(args: argparse.Namespace) -> int:
        return int(cmd_export_mlflow(args) if args.to == "mlflow" else table_export(args))

    parser.set_defaults(func=dispatch)


def cmd_export_mlflow(args: argparse.Namespace) -> int:
    """``icl-it export ID --to mlflow``: log the experiment, print where it went (API and
    connection errors as one line, as every remote command)."""
    from services.cli import remote

    return int(remote._guard(_export_mlflow)(args))


def _export_mlflow(args: argparse.Namespace) -> int:
    import mlflow  # noqa: F401  (configures its loggers on import; quieted after)

    from services.cli import remote

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # no "Creating tables" chatter
    local = Path(args.id)
    if local.exists() and not (local if local.is_file() else local / RESULTS_FILE).is_file():
        return remote._fail(f"{local}: no {RESULTS_FILE} (an `icl-it run --out` directory?)", 2)
    files = local_files(local) if local.exists() else remote_files(remote.sdk(), args.id)
    done = export_to_mlflow(
        files, args.tracking_uri, args.experiment_name, replace=getattr(args, "replace", False)
    )
    verb = "already in" if done.existing else "logged to"
    print(
        f"{files.experiment_id}: {verb} {done.tracking_uri}\n"
        f"  MLflow experiment {done.experiment_id}, run {done.run_id} "
        f"({done.n_cells} cell run(s) nested under it)"
        + ("; --replace logs it again" if done.existing else "")
        + f"\n  browse: mlflow ui --backend-store-uri {done.tracking_uri} (the full `mlflow` package)",
        file=sys.stderr,
    )
    print(done.run_id)
    return 0
