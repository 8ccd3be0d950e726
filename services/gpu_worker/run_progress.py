"""How a running engine reports: progress units with the cancel check, each adapter group's
place in them, and the tuning log (per-step losses, the measured step rate, the ETA).

Losses reach the log once per optimizer step, as the Python floats the tuning loop already
made for its early stop (one device sync per step, none added here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from services.gpu_worker.adapter_export import AdapterSaver
from services.gpu_worker.conditions import ConditionArrays
from services.gpu_worker.plan import RunPlan

Progress = Callable[[float, int, str], None]  # (units done, may be fractional; total; stage)
ShouldCancel = Callable[[], bool]


class Cancelled(Exception):
    """Raised at a step boundary when the caller asked to stop."""


@dataclass(frozen=True)
class TuningStep:
    """One optimizer step of one adapter group: what a ``tuning`` event carries."""

    group: int  # 0-based
    groups: int
    step: int  # 1-based: the loss is the one of this step's forward pass, before its update
    steps: int
    adapters: list[int]  # the group's adapters (indices into the run's adapters)
    loss: list[float]  # each adapter's loss at this step
    eta_s: float | None  # seconds until the run's tuning and IT states are done

    def message(self) -> str:
        """'group 1/2, step 4/8, loss 2.31 (mean of 8 adapters), ETA 0:42'."""
        mean = sum(self.loss) / len(self.loss) if self.loss else float("nan")
        return (
            f"group {self.group + 1}/{self.groups}, step {self.step}/{self.steps}, "
            f"loss {mean:.2f} (mean of {len(self.loss)} adapters), ETA {format_eta(self.eta_s)}"
        )

    def event_data(self, run_id: str) -> dict[str, Any]:
        """The ``tuning`` event's data (the dashboard's live loss curve reads it)."""
        return {
            "run_id": run_id,
            "group": self.group,
            "groups": self.groups,
            "step": self.step,
            "steps": self.steps,
            "adapters": self.adapters,
            "loss": self.loss,
            "eta_s": self.eta_s,
        }


OnTuning = Callable[[TuningStep], None]


def format_eta(seconds: float | None) -> str:
    """'0:42', '1:02:03', or '?' before anything was measured."""
    if seconds is None:
        return "?"
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass
class TuningLog:
    """The run's tuning clock: seconds per optimizer step and per group's IT extraction,
    measured as the run goes, give the ETA of what is left."""

    groups: int
    steps: int  # optimizer steps per group (an early stop ends a group sooner)
    on_tuning: OnTuning | None = None
    tune_s: float = 0.0
    steps_done: int = 0
    extract_s: float = 0.0
    groups_extracted: int = 0
    _since: float = field(default_factory=time.perf_counter)

    def start(self) -> None:
        """A group starts tuning: the clock of its first step starts now."""
        self._since = time.perf_counter()

    def extracted(self, seconds: float) -> None:
        """A group's IT states took ``seconds``."""
        self.extract_s += seconds
        self.groups_extracted += 1

    def eta_s(self, group: int, step: int) -> float | None:
        """Seconds left after ``step`` (1-based) of ``group``: the steps left at the measured
        step rate, plus each group's IT states at the measured time per group (counted as
        nothing until the first group's were measured)."""
        if not self.steps_done:
            return None
        steps_left = (self.steps - step) + (self.groups - group - 1) * self.steps
        per_group = self.extract_s / self.groups_extracted if self.groups_extracted else 0.0
        return steps_left * self.tune_s / self.steps_done + (self.groups - group) * per_group

    def record(self, group: int, step: int, adapters: list[int], loss: list[float]) -> str:
        """Step ``step`` (1-based) of ``group`` gave ``loss``; returns 'loss 2.31, ETA 0:42'."""
        now = time.perf_counter()
        self.tune_s += now - self._since
        self._since = now
        self.steps_done += 1
        eta = self.eta_s(group, step)
        if self.on_tuning is not None:
            self.on_tuning(TuningStep(group, self.groups, step, self.steps, adapters, loss, eta))
        mean = sum(loss) / len(loss) if loss else float("nan")
        return f"loss {mean:.2f}, ETA {format_eta(eta)}"


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Adds the block's wall time to ``timings[stage]``."""
    t = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t


@dataclass
class Steps:
    """Progress in units of work (anchor, ICL, then per adapter group its tuning steps and
    its IT states); each report is a step boundary where cancellation is checked."""

    total: int
    progress: Progress | None
    should_cancel: ShouldCancel | None

    def __call__(self, done: float, stage: str) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled(f"cancelled before {stage}")
        if self.progress is not None:
            self.progress(done, self.total, stage)


@dataclass
class Group:
    """One adapter group while it runs: where its results go and how it reports."""

    plan: RunPlan
    index: int  # the group's position in plan.groups
    adapters: list[int]  # indices into plan.adapters
    rows: list[int]  # the group's inference examples, adapter by adapter
    adapter_of: list[int]  # each row's adapter, as an index into the group
    out: ConditionArrays
    saver: AdapterSaver
    timings: dict[str, float]
    step: Steps
    log: TuningLog
    first: int  # progress units done before this group
    label: str

    def on_loss(self, e: int, losses: list[float]) -> None:
        """Tuning step ``e`` (0-based) gave each of the group's adapters ``losses`` (any
        twins after them); a step boundary: cancellation is checked here."""
        own = [float(x) for x in losses[: len(self.adapters)]]
        said = self.log.record(self.index, e + 1, self.adapters, own)
        stage = f"{self.label}, step {e + 1}/{self.plan.lora.steps}, {said}"
        self.step(self.first + e + 1, stage)

    def on_extract(self, done: float) -> None:
        """``done``: the fraction of the group's IT extractions done."""
        self.step(self.first + self.plan.lora.steps + done, f"{self.label}, IT states")
