"""The batch-1 baseline the engine is measured against: one example, one adapter, one
forward at a time, with plain peft, timed stage by stage (issue 5)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
import torch
from peft import get_peft_model

from services.common.spec import RunConfig
from services.common.storage.hidden_states import Condition, RunStates
from services.gpu_worker.extraction import final_norm
from services.gpu_worker.models import LoadedModel
from services.gpu_worker.plan import RunPlan
from services.gpu_worker.prompts import TrainingPair
from services.gpu_worker.tuning import lora_config, reset_adapter


class Baseline:
    """Batch 1 everywhere; one peft adapter, re-initialised (seeded) for every unit."""

    def __init__(self, loaded: LoadedModel, sync: Callable[[], None]):
        self.loaded = loaded
        self.device = loaded.device
        self.sync = sync
        self.peft: Any = None
        self.peft_key: Any = None

    def _adapter(self, run: RunConfig, seed: int) -> Any:
        spec = run.lora
        key = (spec.r, spec.alpha, spec.dropout, tuple(spec.target_modules))
        if self.peft is None:
            config = lora_config(spec)  # the same LoraConfig the engine's peft path uses
            self.peft = get_peft_model(self.loaded.model, config, adapter_name="unit")
            self.peft_key = key
        elif key != self.peft_key:
            raise NotImplementedError("the baseline handles one LoRA configuration per process")
        reset_adapter(self.peft, "unit", seed)  # a fresh adapter, seeded like the engine's
        return self.peft

    @torch.no_grad()
    def _last_token(self, model: Any, ids: list[int], label_ids: list[int]) -> tuple[Any, Any]:
        """Batch 1, no padding: hidden_states[:-1], the last block's own output (the final
        norm's input), the final norm's output; label log-probs over the vocabulary."""
        grabbed: list[Any] = []
        norm = final_norm(model)
        handle = (
            norm.register_forward_hook(lambda m, a, o: grabbed.append(a[0][0, -1]))
            if norm is not None
            else None
        )
        try:
            out = model(
                input_ids=torch.tensor([ids], device=self.device), output_hidden_states=True
            )
        finally:
            if handle is not None:
                handle.remove()
        hs = [h[0, -1] for h in out.hidden_states]
        last_block = grabbed[0] if grabbed else hs[-1]
        hidden = torch.stack([*hs[:-1], last_block, hs[-1]]).float().cpu().numpy()
        logprobs = torch.log_softmax(out.logits[0, -1].float(), -1)
        return hidden, logprobs[label_ids].cpu().numpy()

    def _train(self, model: Any, run: RunConfig, pairs: list[TrainingPair]) -> list[float]:
        spec = run.lora
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=spec.lr, weight_decay=0.0)
        rows = []
        for prompt, target in pairs:
            seq = prompt + target
            start = len(prompt) if spec.loss_on == "label" else 1
            labels = [-100] * start + seq[start:]
            rows.append((seq, labels, len(seq) - start))
        n_total = sum(n for _, _, n in rows)
        losses: list[float] = []
        model.train()
        for _ in range(run.it_steps):
            total = 0.0
            for seq, labels, n in rows:  # batch 1, gradient accumulation
                out = model(
                    input_ids=torch.tensor([seq], device=self.device),
                    labels=torch.tensor([labels], device=self.device),
                )
                loss = out.loss * (n / n_total)  # token mean over the whole set
                loss.backward()
                total += float(loss.detach())
            losses.append(total)
            if spec.stop_loss is not None and total < spec.stop_loss:
                break
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        model.eval()
        optimizer.zero_grad(set_to_none=True)
        return losses

    def run(self, plan: RunPlan, step: Callable[[str], None]) -> tuple[RunStates, dict[str, float]]:
        run, n = plan.run, len(plan.anchor_ids)
        layers, d = self.loaded.n_layers + 2, self.loaded.d_model
        n_lab = len(plan.label_ids)
        conds = ["anchor", "icl", "it"] + (["it_untuned"] if run.untuned_adapter else [])
        hidden = np.zeros((n, len(conds), layers, d), np.float32)
        logits = np.zeros((n, len(conds), n_lab), np.float32)
        timings = dict.fromkeys(("anchor", "icl", "tune", "it"), 0.0)

        def put(model: Any, i: int, c: int, ids: list[int], stage: str, base: bool) -> None:
            """Example i's states in condition c, timed as ``stage`` (``base``: no adapter)."""
            with (
                _timed(timings, stage, self.sync),
                model.disable_adapter() if base else nullcontext(),
            ):
                hidden[i, c], logits[i, c] = self._last_token(model, ids, plan.label_ids)

        for unit in plan.adapters:
            step(f"unit {unit.members[0]}")
            model = self._adapter(run, unit.seed)
            with self.loaded.compute():  # the model's precision (autocast when mixed)
                for i in unit.members:
                    put(model, i, 0, plan.anchor_ids[i], "anchor", base=True)
                    put(model, i, 1, plan.icl_ids[i], "icl", base=True)
                    if run.untuned_adapter:
                        put(model, i, 3, plan.anchor_ids[i], "it", base=False)
                with _timed(timings, "tune", self.sync):
                    self._train(model, run, unit.pairs)
                for i in unit.members:
                    put(model, i, 2, plan.anchor_ids[i], "it", base=False)
        states = RunStates(
            hidden=hidden,
            label_logprobs=logits,
            labels=plan.labels,
            conditions=[Condition(c) for c in conds],
            example_ids=plan.example_ids,
            label_names=plan.label_names,
            meta={"run_key": run.key, "path": "baseline"},
        )
        return states, timings


@contextmanager
def _timed(into: dict[str, float], stage: str, sync: Callable[[], None]) -> Iterator[None]:
    """Adds the block's wall time, between device syncs, to ``into[stage]``."""
    sync()
    t = time.perf_counter()
    try:
        yield
    finally:
        sync()
        into[stage] = into.get(stage, 0.0) + time.perf_counter() - t


# ---------------------------------------------------------------------------------------
# Measuring: FLOPs, matmul peak, memory
