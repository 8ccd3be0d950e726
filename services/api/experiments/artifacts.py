"""The downloadable files of an experiment: listed and served by id.

An artifact id maps to a storage key recorded on a row (the experiment's results and
report, each run's states, prompts and analysis) or found in the store: the figures, and a
run's tuning.json and saved adapters (written before the row records the run's states, so
listed for runs whose states are recorded). Names, media types and suffixes come from
``common.storage.layout``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from services.api.errors import NotFound
from services.api.experiments import repository as repo
from services.api.experiments import schemas
from services.common import db
from services.common.storage.artifacts import ArtifactStore
from services.common.storage.layout import (
    MEDIA_TYPES,
    SUFFIXES,
    ArtifactKind,
    experiment_prefix,
    figure_id,
    figures_prefix,
    found_run_file,
    runs_prefix,
)


def _artifacts(
    experiment: db.Experiment, runs: Sequence[db.Run], store: ArtifactStore
) -> list[tuple[schemas.Artifact, str]]:
    """Every artifact of the experiment with its storage key, in listing order."""
    base = f"/v1/experiments/{experiment.id}/artifacts"
    out: list[tuple[schemas.Artifact, str]] = []
    # every file's size in one listing of the store (only the states' size is on a row)
    sizes = store.sizes(experiment_prefix(experiment.id))

    def add(
        artifact_id: str, kind: ArtifactKind, key: str | None, run: db.Run | None = None
    ) -> None:
        if key is None:
            return
        states = run if kind == ArtifactKind.STATES else None
        artifact = schemas.Artifact(
            id=artifact_id,
            kind=kind,
            run_id=run.id if run else None,
            media_type=MEDIA_TYPES[kind],
            size_bytes=sizes.get(key, states.states_bytes if states else None),
            sha256=states.states_sha256 if states else None,
            shape=states.states_shape if states else None,
            url=f"{base}/{artifact_id}",
        )
        out.append((artifact, key))

    add("results", ArtifactKind.RESULTS, experiment.results_key)
    add("report", ArtifactKind.REPORT, experiment.report_key)
    if experiment.report_key is not None:  # the figures were stored before the report
        for key in store.list_keys(figures_prefix(experiment.id)):
            add(figure_id(key), ArtifactKind.FIGURE, key)
    found = _found_run_files(experiment, runs, store)
    for run in runs:
        add(f"run-{run.id}-states", ArtifactKind.STATES, run.states_key, run)
        add(f"run-{run.id}-prompts", ArtifactKind.PROMPTS, run.prompts_key, run)
        add(f"run-{run.id}-analysis", ArtifactKind.ANALYSIS, run.analysis_key, run)
        for artifact_id, kind, key in found.get(run.id, []):
            add(artifact_id, kind, key, run)
    return out


def _found_run_files(
    experiment: db.Experiment, runs: Sequence[db.Run], store: ArtifactStore
) -> dict[str, list[tuple[str, ArtifactKind, str]]]:
    """Run id -> (artifact id, kind, key) of the run files found in the store, for the runs
    whose states are recorded (one listing of the experiment's runs folder)."""
    recorded = {run.id for run in runs if run.states_key is not None}
    found: dict[str, list[tuple[str, ArtifactKind, str]]] = {}
    if not recorded:
        return found
    for key in store.list_keys(runs_prefix(experiment.id)):
        hit = found_run_file(experiment.id, key)
        if hit is not None and hit[0] in recorded:
            found.setdefault(hit[0], []).append((hit[1], hit[2], key))
    return found


def list_artifacts(
    session: Session, store: ArtifactStore, experiment: db.Experiment
) -> schemas.ArtifactList:
    """Every downloadable file of the experiment."""
    runs = repo.runs_of(session, experiment.id)
    return schemas.ArtifactList(data=[a for a, _ in _artifacts(experiment, runs, store)])


def find_artifact(
    session: Session, store: ArtifactStore, experiment: db.Experiment, artifact_id: str
) -> tuple[schemas.Artifact, str, str]:
    """(artifact, store key, download file name) for an artifact id of this experiment."""
    runs = repo.runs_of(session, experiment.id)
    for artifact, key in _artifacts(experiment, runs, store):
        if artifact.id == artifact_id:
            filename = f"{experiment.id}-{artifact.id}.{SUFFIXES[artifact.kind]}"
            return artifact, key, filename
    raise NotFound(f"artifact {artifact_id[:64]!r} not found")
