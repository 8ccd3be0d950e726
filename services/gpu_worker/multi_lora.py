"""Many LoRA adapters trained, and run, in one batched pass over a frozen base model.

Every row of a batch carries the index of its own adapter. Each target Linear layer
(q_proj, v_proj, ...) gets ``scaling * x @ A[row].T @ B[row].T`` added to its output by a
forward hook, with the adapters stacked:

    A: [n_adapters, r, d_in]      B: [n_adapters, d_out, r]

Why this is the same optimisation as separate peft trainings:

- the loss is the sum over adapters of each adapter's own token-mean loss, and adapter j's
  weights only touch adapter j's rows, so each adapter's gradient is its own loss's;
- AdamW (no weight decay here) is element-wise, so one optimizer over the stacked tensors
  steps every slice exactly as a separate optimizer would; no clipping across adapters;
- the init reproduces peft's ``reset_lora_parameters``: for adapter j, ``manual_seed(seed_j)``,
  then per target layer in module order ``kaiming_uniform_(A, a=sqrt(5))`` and ``B = 0``.

The language-model head is applied only at the target (label) positions: the loss needs
nothing else, and the head (vocab x d_model) is a fifth of a small model's weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

import torch
import torch.nn.functional as F
from peft.tuners.lora import LoraLayer
from torch import nn

from services.common.spec import LoraSpec
from services.gpu_worker.prompts import TrainingPair


def adapter_dtype(base: torch.dtype) -> torch.dtype:
    """peft keeps adapter weights of half-precision models in float32 (autocast_adapter_dtype)."""
    return torch.float32 if base in (torch.float16, torch.bfloat16) else base


def find_targets(model: nn.Module, target_modules: Sequence[str]) -> list[tuple[str, nn.Linear]]:
    """The base Linear layers peft would wrap for ``target_modules``, in module order.

    Works on a plain model and on one peft has wrapped in place (then the Linear is the
    LoRA layer's ``base_layer``)."""
    wanted = set(target_modules)
    found: list[tuple[str, nn.Linear]] = []
    for name, module in model.named_modules():
        if name.rsplit(".", 1)[-1] not in wanted:
            continue
        base = module.get_base_layer() if isinstance(module, LoraLayer) else module
        if isinstance(base, nn.Linear):
            found.append((name, base))
    if not found:
        raise ValueError(f"lora.target_modules: no Linear layer named {sorted(wanted)}")
    return found


@dataclass
class _Target:
    name: str
    linear: nn.Linear
    A: nn.Parameter  # [n, r, d_in]
    B: nn.Parameter  # [n, d_out, r]


class MultiLora:
    """``n`` LoRA adapters (one LoRA configuration) over the same frozen base model."""

    def __init__(self, model: nn.Module, spec: LoraSpec, seeds: Sequence[int]):
        if spec.dropout > 0:
            raise ValueError("MultiLora has no dropout; use the peft path for lora.dropout > 0")
        self.spec = spec
        self.n = len(seeds)
        self.scaling = spec.alpha / spec.r
        found = find_targets(model, spec.target_modules)
        self.targets: list[_Target] = []
        for name, linear in found:
            device, dtype = linear.weight.device, adapter_dtype(linear.weight.dtype)
            a = torch.empty(self.n, spec.r, linear.in_features, device=device, dtype=dtype)
            b = torch.zeros(self.n, linear.out_features, spec.r, device=device, dtype=dtype)
            self.targets.append(_Target(name, linear, nn.Parameter(a), nn.Parameter(b)))
        with torch.no_grad():
            for j, seed in enumerate(seeds):
                torch.manual_seed(seed)
                for t in self.targets:
                    one = torch.empty(t.A.shape[1:], dtype=t.A.dtype, device=t.A.device)
                    nn.init.kaiming_uniform_(one, a=math.sqrt(5))
                    t.A[j].copy_(one)
        self._rows: torch.Tensor | None = None

    def parameters(self) -> list[nn.Parameter]:
        """Every adapter's A and B: the only tensors tuning updates."""
        return [p for t in self.targets for p in (t.A, t.B)]

    def is_identity(self) -> bool:
        """True while every B is zero: each adapter then leaves the base model unchanged."""
        return all(not bool(t.B.any()) for t in self.targets)

    def adapter_weights(self, j: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Adapter j as peft shapes: layer name -> (A [r, d_in], B [d_out, r])."""
        return {t.name: (t.A[j].detach(), t.B[j].detach()) for t in self.targets}

    def _hook(self, t: _Target) -> Callable[..., torch.Tensor]:
        def add_delta(module: nn.Module, args: tuple[Any, ...], out: torch.Tensor) -> torch.Tensor:
            rows = self._rows
            if rows is None:
                return out
            x = args[0]  # [batch, tokens, d_in]
            if x.dim() != 3 or x.shape[0] != rows.shape[0]:
                raise RuntimeError(f"{t.name}: input {tuple(x.shape)} vs {rows.shape[0]} rows")
            # [batch, r, d_in], [batch, d_out, r]; index_select's backward is an index_add
            a, b = t.A.index_select(0, rows), t.B.index_select(0, rows)
            h = torch.bmm(x.to(a.dtype), a.transpose(1, 2))  # [batch, tokens, r]
            if out.dtype == h.dtype:  # out + scaling * h @ B^T in one kernel
                return torch.baddbmm(out, h, b.transpose(1, 2), alpha=self.scaling)
            delta = torch.bmm(h, b.transpose(1, 2))
            return (out + delta * self.scaling).to(out.dtype)

        return add_delta

    @contextmanager
    def rows(self, adapter_of_row: Sequence[int] | torch.Tensor) -> Iterator[None]:
        """Within the block, batch row i of every forward runs through adapter
        ``adapter_of_row[i]``."""
        device = self.targets[0].A.device
        rows = torch.as_tensor(adapter_of_row, dtype=torch.long, device=device)
        handles = [t.linear.register_forward_hook(self._hook(t)) for t in self.targets]
        self._rows = rows
        try:
            yield
        finally:
            self._rows = None
            for h in handles:
                h.remove()

    def routing(
        self, adapter_of_prompt: Sequence[int]
    ) -> Callable[[list[int]], AbstractContextManager[None]]:
        """A ``batch_context`` for extraction: each batch (prompt indices) runs prompt i
        through adapter ``adapter_of_prompt[i]``."""
        return lambda idx: self.rows([adapter_of_prompt[i] for i in idx])


# ---------------------------------------------------------------------------------------
# Training


class _DecoderAndHead(Protocol):
    """A causal LM whose logits are its output embeddings applied to its decoder's output."""

    def get_decoder(self) -> nn.Module: ...

    def get_output_embeddings(self) -> nn.Module: ...


def _has_plain_head(model: nn.Module) -> TypeGuard[_DecoderAndHead]:
    """Whether the logits are the head on the decoder's output (no softcapping or scale)."""
    cfg = getattr(model, "config", None)
    return (
        hasattr(model, "get_decoder")
        and getattr(cfg, "final_logit_softcapping", None) is None
        and getattr(cfg, "logit_scale", None) is None
    )


def target_logits(
    model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, where: torch.Tensor
) -> torch.Tensor:
    """Next-token logits [n_targets, vocab] at the positions ``where`` ([batch, tokens],
    bool; position p predicts the token after it) only. The decoder runs on every input
    token; the head only where a loss is taken. A sequence's last token predicts nothing,
    so callers leave it out of ``ids``."""
    if _has_plain_head(model):
        hidden = model.get_decoder()(
            input_ids=ids, attention_mask=mask, use_cache=False
        ).last_hidden_state
        return model.get_output_embeddings()(hidden[where])
    logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
    return logits[where]


@dataclass
class _Chunk:
    ids: torch.Tensor  # [b, t] right-padded inputs: each sequence without its last token
    mask: torch.Tensor  # [b, t]
    rows: torch.Tensor  # [b] adapter of each row
    where: torch.Tensor  # [b, t] bool: positions whose next token is a target
    targets: torch.Tensor  # [m] next-token ids at those positions
    weight: torch.Tensor  # [m] 1 / (target tokens of that row's adapter)
    owner: torch.Tensor  # [m] adapter of each target


def training_chunks(
    pair_sets: Sequence[Sequence[TrainingPair]],
    *,
    pad_id: int,
    loss_on: str,
    token_budget: int,
    device: torch.device,
) -> list[_Chunk]:
    """Every (adapter, demonstration) sequence, sorted by length and cut into right-padded
    chunks of at most ``token_budget`` padded tokens (at least one row each). A row holds
    a sequence without its last token: that token is a target, never an input."""
    seqs: list[tuple[list[int], int, int]] = []  # (ids, adapter, first target position)
    per_adapter = [0] * len(pair_sets)
    for j, pairs in enumerate(pair_sets):
        for prompt, target in pairs:
            seq = prompt + target
            # the first token has nothing before it to predict it
            start = max(len(prompt) if loss_on == "label" else 1, 1)
            if len(seq) <= start:  # nothing to predict
                continue
            seqs.append((seq, j, start))
            per_adapter[j] += len(seq) - start
    seqs.sort(key=lambda s: len(s[0]))
    chunks: list[_Chunk] = []
    i = 0
    while i < len(seqs):
        end = i + 1
        while end < len(seqs) and (end - i + 1) * (len(seqs[end][0]) - 1) <= token_budget:
            end += 1
        group = seqs[i:end]
        width = max(len(s) for s, _, _ in group) - 1
        ids = torch.full((len(group), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        where = torch.zeros((len(group), width), dtype=torch.bool)
        targets: list[int] = []
        owner: list[int] = []
        for row, (seq, j, start) in enumerate(group):
            ids[row, : len(seq) - 1] = torch.tensor(seq[:-1])
            mask[row, : len(seq) - 1] = 1
            where[row, start - 1 : len(seq) - 1] = True  # position p predicts token p + 1
            targets += seq[start:]
            owner += [j] * (len(seq) - start)
        owner_t = torch.tensor(owner, dtype=torch.long)
        weight = 1.0 / torch.tensor(per_adapter, dtype=torch.float32)[owner_t]
        chunks.append(
            _Chunk(
                ids=ids.to(device),
                mask=mask.to(device),
                rows=torch.tensor([j for _, j, _ in group], dtype=torch.long, device=device),
                where=where.to(device),
                targets=torch.tensor(targets, dtype=torch.long, device=device),
                weight=weight.to(device),
                owner=owner_t.to(device),
            )
        )
        i = end
    return chunks


def tune_adapters(
    model: nn.Module,
    lora: MultiLora,
    pair_sets: Sequence[Sequence[TrainingPair]],
    *,
    pad_id: int,
    token_budget: int = 2048,
    on_loss: Callable[[int, list[float]], None] | None = None,
) -> list[list[float]]:
    """Full-batch AdamW on every adapter at once for ``spec.steps`` steps (an adapter whose
    loss drops below ``spec.stop_loss`` stops and keeps its weights). ``pair_sets[j]``
    holds adapter j's training pairs. Returns each adapter's loss before each step.
    ``on_loss(step, losses)`` hears every adapter's loss of each step (a stopped adapter's
    is its frozen weights' loss) before the update: the floats the early stop reads, so
    reporting adds no device sync."""
    spec = lora.spec
    if len(pair_sets) != lora.n:
        raise ValueError(f"{len(pair_sets)} pair sets for {lora.n} adapters")
    losses: list[list[float]] = [[] for _ in range(lora.n)]
    if spec.steps == 0:
        return losses
    device = lora.targets[0].A.device
    active = torch.tensor([bool(p) for p in pair_sets], device=device)
    chunks = training_chunks(
        list(pair_sets),
        pad_id=pad_id,
        loss_on=spec.loss_on,
        token_budget=token_budget,
        device=device,
    )
    params = lora.parameters()
    optimizer = torch.optim.AdamW(params, lr=spec.lr, weight_decay=0.0)
    for step in range(spec.steps):
        if not bool(active.any()):
            break
        total = torch.zeros(lora.n, dtype=torch.float64, device=device)
        for c in chunks:
            with lora.rows(c.rows):
                logits = target_logits(model, c.ids, c.mask, c.where)
            ce = F.cross_entropy(logits.float(), c.targets, reduction="none")
            per_token = ce * c.weight * active[c.owner]
            per_token.sum().backward()
            total.index_add_(0, c.owner, (ce.detach() * c.weight).double())
        step_losses, was_active = total.tolist(), active.tolist()
        for j in range(lora.n):
            if was_active[j]:
                losses[j].append(step_losses[j])
        if on_loss is not None:
            on_loss(step, step_losses)
        if spec.stop_loss is not None:
            stopped = [
                a and x < spec.stop_loss for a, x in zip(was_active, step_losses, strict=True)
            ]
            active &= ~torch.tensor(stopped, device=device)
        _step_active(optimizer, params, active)
        optimizer.zero_grad(set_to_none=True)
    return losses


def _step_active(
    optimizer: torch.optim.Optimizer, params: list[nn.Parameter], active: torch.Tensor
) -> None:
    """One optimizer step that leaves inactive adapters' slices (dim 0) untouched."""
    if bool(active.all()):
        optimizer.step()
        return
    if not bool(active.any()):
        return
    keep = ~active
    frozen = [p.detach()[keep].clone() for p in params]
    optimizer.step()
    with torch.no_grad():
        for p, saved in zip(params, frozen, strict=True):
            p[keep] = saved


# ---------------------------------------------------------------------------------------
# Controls


@torch.no_grad()
def random_lora_like(
    model: nn.Module, tuned: MultiLora, adapters: Sequence[int], seed: int
) -> MultiLora:
    """Random adapters with the same per-layer update size as ``tuned``'s adapters.

    For each adapter j in ``adapters`` and each target layer, A and B are drawn at random
    (A as peft inits it, B Gaussian) and B is rescaled so that ||B A||_F equals the tuned
    adapter's ||B_j A_j||_F: a perturbation as large as tuning, in no learned direction.
    ||B A||_F^2 = trace((B^T B)(A A^T)) is computed on r x r matrices.
    """
    rand = MultiLora(model, tuned.spec, [seed + j for j in range(len(adapters))])
    gen = torch.Generator(device="cpu").manual_seed(seed)
    for t_rand, t_tuned in zip(rand.targets, tuned.targets, strict=True):
        for k, j in enumerate(adapters):
            a, b = t_tuned.A[j].double(), t_tuned.B[j].double()
            want = torch.sqrt(torch.clamp(torch.trace((b.T @ b) @ (a @ a.T)), min=0.0))
            b_new = torch.randn(t_rand.B.shape[1:], generator=gen, dtype=torch.float64)
            a_new = t_rand.A[k].double().cpu()
            got = torch.sqrt(torch.trace((b_new.T @ b_new) @ (a_new @ a_new.T)))
            scale = want.cpu() / got if float(got) > 0 else torch.zeros((), dtype=torch.float64)
            t_rand.B[k].copy_((b_new * scale).to(t_rand.B.dtype))
    return rand
