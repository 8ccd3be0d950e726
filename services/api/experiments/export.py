"""Results as long tables (CSV, Parquet, JSON records): ``GET .../results?format=&table=``.

The table code is ``services.common.storage.exports`` (shared with ``icl-it export``); this module
only reads what it needs from the artifact store.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from sqlalchemy.orm import Session

from services.api.experiments import repository as repo
from services.api.experiments import views
from services.common import db
from services.common.storage import exports
from services.common.storage.artifacts import ArtifactStore

ExportFormat = Literal["json", "csv", "parquet"]
ExportTable = Literal["cells", "examples"]


def run_analyses(session: Session, store: ArtifactStore, experiment: db.Experiment) -> list[Any]:
    """The per-run analysis documents of the runs that were analysed, in run order."""
    return [
        json.loads(store.get(run.analysis_key))
        for run in repo.runs_of(session, experiment.id)
        if run.analysis_key
    ]


def table(
    session: Session, store: ArtifactStore, experiment: db.Experiment, which: ExportTable
) -> exports.Table:
    """One long table of a finished experiment: ``cells`` from the results document, ``examples``
    from the per-run analyses."""
    results = views.results(store, experiment)  # 409 until finished, like the document
    if which == "cells":
        return exports.cell_table(results, experiment.id)
    return exports.example_table(run_analyses(session, store, experiment), experiment.id)


def filename(experiment: db.Experiment, which: ExportTable, fmt: ExportFormat) -> str:
    """The download name of an exported table, e.g. ``<id>-cells.csv``."""
    return f"{experiment.id}-{which}.{fmt}"
