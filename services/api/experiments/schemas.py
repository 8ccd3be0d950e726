"""What the experiment routes return. Kept apart from the ORM rows in services.common.db."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.common.db.status import ExperimentStatus, RunStatus
from services.common.storage.layout import ArtifactKind


class Progress(BaseModel):
    """How far an experiment is, in runs."""

    completed_runs: int = Field(description="Runs in a final state.")
    total_runs: int
    fraction: float = Field(description="0..1, counting the progress of running runs too.")


class ErrorInfo(BaseModel):
    """Why an experiment or a run failed: a stable code and a message."""

    code: str
    message: str


class RunSummary(BaseModel):
    """One run of an experiment: its configuration's factors, status and progress."""

    id: str
    index: int
    key: str = Field(description="Content hash of the run's resolved configuration.")
    status: RunStatus
    stage: str | None
    progress: float
    attempts: int = Field(description="Deliveries to a GPU worker (> 1 after a redelivery).")
    studies: list[str]
    factors: dict[str, Any] = Field(description="Swept field -> value at this run.")
    control: str
    seed: int
    started_at: datetime | None
    finished_at: datetime | None
    error: ErrorInfo | None


class PrimaryResult(BaseModel):
    """The headline of a finished experiment: its first study's primary test (matched −
    mismatched shift cosine, tested by permuting the pairing), from its results document."""

    study: str
    measure: str = Field(description="What ``effect`` measures (a minus b, and the metric).")
    layer: int = Field(description="The report layer the test is at.")
    effect: float = Field(description="Mean difference a − b over inference examples.")
    ci_low: float | None
    ci_high: float | None
    p_value: float = Field(description="The test's own p (pairing permutation).")
    p_holm: float | None = Field(
        description="Holm-adjusted over the experiment's primary tests (what verdicts use)."
    )
    significant: bool
    n: int = Field(description="Inference examples.")


class ExperimentSummary(BaseModel):
    """An experiment as listed: status, times, progress, what it runs, and its headline."""

    id: str
    name: str
    tags: list[str] = Field(description="The spec's tags (filter with ?tag=).")
    status: ExperimentStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: Progress
    error: ErrorInfo | None
    models: list[str] = Field(
        default_factory=list, description="The models it runs (model.name, then swept ones)."
    )
    cells: int = Field(0, description="Configurations it compares (runs over seeds).")
    primary: PrimaryResult | None = Field(
        None, description="The primary test, once the experiment has results."
    )


class Experiment(ExperimentSummary):
    """An experiment with its resolved spec and its runs."""

    spec: dict[str, Any] = Field(
        title="ResolvedSpec", description="The ExperimentSpec as stored (defaults filled in)."
    )
    runs: list[RunSummary]


class ExperimentList(BaseModel):
    """A page of experiments, newest first."""

    data: list[ExperimentSummary]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as ?after= for the next page.")


class Event(BaseModel):
    """One entry of an experiment's event log (a state change, progress or an error)."""

    id: int
    created_at: datetime
    level: str
    type: str
    message: str
    run_id: str | None
    data: dict[str, Any]


class EventList(BaseModel):
    """A page of events, oldest first."""

    data: list[Event]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as ?after= for the next page.")


class Artifact(BaseModel):
    """A downloadable file of an experiment or of one of its runs."""

    id: str
    kind: ArtifactKind
    run_id: str | None
    media_type: str
    size_bytes: int | None
    sha256: str | None
    shape: list[int] | None = Field(
        None, description="states: [example, condition, layer, d_model]."
    )
    url: str = Field(description="Download link (relative to the API root).")


class ArtifactList(BaseModel):
    """An experiment's artifacts."""

    data: list[Artifact]


class ResultsTable(BaseModel):
    """``GET .../results?table=`` as JSON: one of the long tables of docs/EXPORTS.md."""

    columns: list[str] = Field(description="Column names, in order.")
    rows: list[dict[str, Any]] = Field(description="One object per row, keyed by column.")
