"""After an adapter group is tuned: the states of its inputs through every adapter.

For the group's inputs (rows) and its m tuned adapters:

    it           input i through its own adapter
    it_shuffled  through its shuffled-label twin (same init, labels permuted)
    cross        input i through EVERY adapter of the group, its own included (stored as
                 ``cross_hidden``); the own slot repeats ``it`` in another batch, a built-in
                 consistency check. ``it_cross``, the one-neighbour control older analyses
                 read, is the slot of the next adapter: no pass of its own.
    it_random    through a random LoRA scaled, per input, until its state shift at the
                 report layer is as long as the tuned adapter's (``scale_random_lora``)

Why the random LoRA is scaled on the state, not the weights: matching ||BA|| per layer
moved SmolLM2's final-norm state ~70x less than tuning did (issue 17), so it controlled
for no perturbation of the size that tuning makes. The weight-matched version is where the
scaling starts; its shift norm is recorded as ``random_lora_weight_matched_state_norm``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from services.common.spec import Control
from services.common.storage.hidden_states import Condition
from services.gpu_worker.conditions import ConditionArrays, States
from services.gpu_worker.multi_lora import MultiLora, random_lora_like
from services.gpu_worker.plan import RANDOM_LORA_ROUNDS, RunPlan

BatchContext = Callable[[list[int]], AbstractContextManager[None]]
OnBatch = Callable[[int, int], None]
# (example positions, may repeat; routing of each prompt; progress) -> states
Extract = Callable[[list[int], BatchContext | None, OnBatch | None], States]

RANDOM_LORA_TOLERANCE = 0.01  # relative gap of the shift norms at which scaling stops


@dataclass
class TunedGroup:
    """One tuned adapter group, as the extraction after tuning needs it."""

    plan: RunPlan
    adapters: list[int]  # indices into plan.adapters
    rows: list[int]  # the group's inference examples
    adapter_of: list[int]  # each row's adapter, as an index into the group
    anchor: States  # every example's anchor states (all n)
    out: ConditionArrays
    extract: Extract
    on_extract: Callable[[float], None]  # fraction of the group's passes done


class _Passes:
    """Progress over the group's passes (one pass = the group's inputs once)."""

    def __init__(self, total: int, report: Callable[[float], None]):
        self.total, self.report, self.done = total, report, 0.0

    def on_batch(self, units: float) -> OnBatch:
        """Progress of one extraction worth ``units`` passes, starting where we are."""
        start = self.done
        return lambda d, n: self.report((start + units * d / n) / self.total)

    def advance(self, units: float) -> None:
        self.done += units


def extract_tuned_group(group: TunedGroup, lora: MultiLora, model: nn.Module, seed: int) -> None:
    """Every adapter condition of a tuned group (see the module docstring), into
    ``group.out``. ``lora`` holds the group's adapters, then their shuffled twins."""
    plan, rows, of, m = group.plan, group.rows, group.adapter_of, len(group.adapters)
    passes = _Passes(plan.extractions_after_tuning(group.adapters), group.on_extract)

    def put(condition: Condition, of_row: list[int]) -> States:
        got = group.extract(rows, lora.routing(of_row), passes.on_batch(1))
        passes.advance(1)
        group.out.put(condition, rows, got)
        return got

    it = put(Condition.IT, of)
    if Control.SHUFFLED_LABELS in plan.controls:
        put(Condition.IT_SHUFFLED, [j + m for j in of])
    if Control.CROSS_ADAPTER in plan.controls and m >= 2:
        _extract_cross(group, lora, passes)
    if Control.RANDOM_LORA in plan.controls:
        scale_random_lora(group, model, lora, seed + 1, it, passes)


def _extract_cross(group: TunedGroup, lora: MultiLora, passes: _Passes) -> None:
    """Each input through each of the group's m adapters (m passes, in one extraction),
    stored as the cross matrix; it_cross takes the next adapter's slot."""
    plan, rows, of, m = group.plan, group.rows, group.adapter_of, len(group.adapters)
    prompts = [i for i in rows for _ in range(m)]  # row r, slot j at r * m + j
    routing = lora.routing([p % m for p in range(len(prompts))])
    got = group.extract(prompts, routing, passes.on_batch(m))
    passes.advance(m)
    slot_examples = [plan.adapters[u].members[0] for u in group.adapters]
    group.out.put_cross(rows, slot_examples, got)
    h = got[0].reshape(len(rows), m, *got[0].shape[1:])
    lp = got[1].reshape(len(rows), m, *got[1].shape[1:])
    nxt = [(j + 1) % m for j in of]
    group.out.put(
        Condition.IT_CROSS, rows, (h[np.arange(len(rows)), nxt], lp[np.arange(len(rows)), nxt])
    )


def scale_random_lora(
    group: TunedGroup, model: nn.Module, lora: MultiLora, seed: int, it: States, passes: _Passes
) -> None:
    """it_random: one random LoRA per input (A as peft inits it, B Gaussian, first matched to
    its tuned adapter's ||BA|| per layer), then B rescaled per input until the state shift
    at the report layer, ||h_random - h_anchor||, is within ``RANDOM_LORA_TOLERANCE`` of
    the tuned adapter's ||h_it - h_anchor|| (a secant on log norm vs log scale: the shift
    grows about linearly with a small update, less so with a large one). Each round runs
    only the inputs not yet matched; at most ``RANDOM_LORA_ROUNDS`` rounds."""
    rows, out, n_rows = group.rows, group.out, len(group.rows)
    layer = group.plan.report_layer(it[0].shape[1] - 2)
    anchor = group.anchor[0][rows][:, layer].astype(np.float64)
    target = np.linalg.norm(it[0][:, layer] - anchor, axis=-1)
    rand = random_lora_like(model, lora, group.adapter_of, seed=seed)
    hidden, logprobs = np.empty_like(it[0]), np.empty_like(it[1])
    norm, scale, rounds = np.zeros(n_rows), np.ones(n_rows), np.zeros(n_rows)
    active, prev, used = np.arange(n_rows), None, 0.0
    for round_ in range(RANDOM_LORA_ROUNDS):
        units = len(active) / n_rows
        got = group.extract(
            [rows[k] for k in active], rand.routing(active.tolist()), passes.on_batch(units)
        )
        passes.advance(units)
        used += units
        hidden[active], logprobs[active] = got
        norm[active] = np.linalg.norm(got[0][:, layer] - anchor[active], axis=-1)
        rounds[active] = round_ + 1
        if round_ == 0:
            out.figures["random_lora_weight_matched_state_norm"][rows] = norm
        todo = ~_matched(norm, target)
        active = np.flatnonzero(todo)
        if round_ == RANDOM_LORA_ROUNDS - 1 or not len(active):
            break
        new = np.where(todo, next_scale(scale, norm, target, prev), scale)
        prev = (scale, norm.copy())
        _rescale(rand, new / np.where(scale > 0, scale, 1.0))
        scale = new
    passes.advance(RANDOM_LORA_ROUNDS - used)  # rounds not needed
    out.put(Condition.IT_RANDOM, rows, (hidden, logprobs))
    for name, values in (
        ("it_state_norm", target),
        ("random_lora_state_norm", norm),
        ("random_lora_scale", scale),
        ("random_lora_rounds", rounds),
    ):
        out.figures[name][rows] = values


def _matched(norm: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rows whose shift norm is within tolerance of the target (or cannot move: a zero
    shift either way)."""
    close = np.abs(norm - target) <= RANDOM_LORA_TOLERANCE * target
    return close | (target == 0) | (norm == 0)


def next_scale(
    scale: np.ndarray,
    norm: np.ndarray,
    target: np.ndarray,
    prev: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    """The next per-row scale of the random update: log-log secant from the last two
    (scale, norm) points, slope 1 (norm proportional to scale) on the first step, the slope
    kept in [0.25, 4] so one noisy point cannot throw it far. A zero target gives scale 0;
    a row whose norm is zero keeps its scale (nothing to extrapolate from)."""
    slope = np.ones_like(scale)
    if prev is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            ds = np.log(scale) - np.log(prev[0])
            dn = np.log(norm) - np.log(prev[1])
            fitted = np.where(np.abs(ds) > 1e-9, dn / ds, 1.0)
        slope = np.clip(np.nan_to_num(fitted, nan=1.0, posinf=4.0, neginf=0.25), 0.25, 4.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.exp((np.log(target) - np.log(norm)) / slope)
    new = np.where(norm > 0, scale * step, scale)
    return np.where(target > 0, np.nan_to_num(new, nan=0.0), 0.0)


@torch.no_grad()
def _rescale(rand: MultiLora, factor: np.ndarray) -> None:
    """Multiply adapter k's update (its B, in every target layer) by ``factor[k]``."""
    for t in rand.targets:
        f = torch.as_tensor(factor, dtype=t.B.dtype, device=t.B.device)
        t.B.mul_(f.view(-1, 1, 1))
