"""Hidden states of one run, as plain numpy with named axes (no torch).

Written by the GPU worker, read by the analysis service. Stored as one safetensors file
whose metadata names every axis, so the artifact is self-describing:

    hidden:         [n_examples, n_conditions, n_layers + 2, d_model]  float32
    label_logprobs: [n_examples, n_conditions, n_labels]               float32
    labels:         [n_examples]                                       int64 (-1: no label)

and, optional (absent in files written before them; readers must cope):

    cross_hidden:         [n_examples, m_max, n_layers + 2, d_model]  float32
    cross_label_logprobs: [n_examples, m_max, n_labels]               float32
    cross_adapter:        [n_examples, m_max]                         int64

cross_hidden[i, j] is the last-token state of input i (its anchor prompt) through the
adapter tuned on the demonstration set of example ``cross_adapter[i, j]``; each row covers
every adapter of i's adapter group, its own included (so where cross_adapter[i, j] == i it
equals the ``it`` condition: a built-in consistency check). -1 marks padding (a smaller
group); those slots are NaN.

The layer axis (explained here once; every ``[..., n_layers + 2, ...]`` in the code means
this axis): named by what each entry is, 0 = the embedding output ("embeddings"); i in
1..n_layers = the output of decoder block i before any final norm ("block_i"); n_layers + 1
= the final norm's output ("final_norm"), which is what transformers returns as the last
``hidden_states`` entry. The position is the last prompt token of each condition.

The vocabulary of the states, defined once: ``Condition`` (the condition axis) and
``Pair`` (two conditions compared by the analysis). The spec's ``Control`` names which
IT-shaped conditions a run computes.

label_logprobs: log-softmax over the whole vocabulary, read at each label's first token;
``exp`` summed over labels is the probability mass the model puts on the label space.

Optional arrays of the task-vector check (``causal``; ``gpu_worker.patching``), absent in
files written without it, named in ``CAUSAL_AXES``: the ICL or IT shift (state minus
anchor) of example ``partner`` added to example i's zero-shot pass at one decoder block;
with ``cross_hidden``, also ``CAUSAL_ADAPTER_AXES``: i's own input through other examples'
adapters, the demonstration-specific version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

import numpy as np
from safetensors.numpy import load as st_load

# Shapes, named once (the layer axis is the module docstring's).
Hidden: TypeAlias = np.ndarray  # [n_examples, n_conditions, n_layers + 2, d_model]
ConditionStates: TypeAlias = np.ndarray  # [n_examples, n_layers + 2, d_model], one condition
PerExampleLayer: TypeAlias = np.ndarray  # [n_examples, n_layers + 2]
PerLayer: TypeAlias = np.ndarray  # [n_layers + 2]


class Condition(StrEnum):
    """A condition of the states file, in file order. anchor, icl, it: the paper's three.
    The rest are IT-shaped controls (see ``gpu_worker.engine``)."""

    ANCHOR = "anchor"  # base model, zero-shot prompt
    ICL = "icl"  # base model, demonstrations in the prompt
    IT = "it"  # base + the adapter tuned on this example's demonstrations, zero-shot prompt
    IT_CROSS = "it_cross"  # this input through an adapter tuned on another example's set
    IT_SHUFFLED = "it_shuffled"  # an adapter tuned on the same inputs with shuffled labels
    IT_RANDOM = "it_random"  # a random LoRA scaled to move the state as far as IT does
    IT_UNTUNED = "it_untuned"  # the zero-step adapter: equals the anchor (identity check)


CONDITIONS = tuple(Condition)


class Pair(StrEnum):
    """Two conditions the analysis compares, named ``<a>_<b>``. State similarity compares
    their states; shift measures compare their shifts from the anchor; an ``anchor_<c>``
    pair of a norm measure is the shift s_c = h_c - h_anchor itself."""

    ICL_IT = "icl_it"
    ANCHOR_ICL = "anchor_icl"
    ANCHOR_IT = "anchor_it"
    ICL_IT_CROSS = "icl_it_cross"
    ICL_IT_SHUFFLED = "icl_it_shuffled"
    ICL_IT_RANDOM = "icl_it_random"
    ICL_IT_UNTUNED = "icl_it_untuned"
    ANCHOR_IT_CROSS = "anchor_it_cross"
    ANCHOR_IT_SHUFFLED = "anchor_it_shuffled"
    ANCHOR_IT_RANDOM = "anchor_it_random"

    @property
    def conditions(self) -> tuple[Condition, Condition]:
        """(a, b) of the pair ``a_b``."""
        first, second = self.value.split("_", 1)
        return Condition(first), Condition(second)


# The task-vector check's arrays: name -> axes. shift: (icl, it), the patched shift;
# partner 0 is the example's own shift, 1.. other examples' (causal_partner: which);
# reference: (icl, it), whose output distribution the KL is taken to;
# unpatched condition: (anchor, icl, it), the KL of the plain conditions' outputs.
CAUSAL_AXES = {
    "causal_layers": "patched_layer",  # int64, layer-axis index of each patched block
    "causal_partner": "example,partner",  # int64, the example whose shift was patched in
    "causal_label_logprobs": "example,patched_layer,shift,partner,label",
    "causal_kl": "example,patched_layer,shift,partner,reference",  # KL(patched || ref)
    "causal_kl_unpatched": "example,condition,reference",  # KL(condition || reference)
}
# The demonstration-specific version, written when the run also has ``cross_hidden``:
# input i's IT shift through OTHER examples' adapters (its own input, their demonstration
# sets), patched into i's zero-shot pass: against i's own IT shift (partner 0 of
# ``causal_kl``) it isolates what i's own demonstrations carry, the input held fixed.
# causal_adapter_partner: the example whose adapter (demonstration set) each slot used.
CAUSAL_ADAPTER_AXES = {
    "causal_adapter_partner": "example,adapter_partner",  # int64
    "causal_adapter_label_logprobs": "example,patched_layer,adapter_partner,label",
    "causal_adapter_kl": "example,patched_layer,adapter_partner,reference",
}
ALL_CAUSAL_AXES = CAUSAL_AXES | CAUSAL_ADAPTER_AXES
CAUSAL_SHIFTS = (Condition.ICL, Condition.IT)
CAUSAL_REFERENCES = (Condition.ICL, Condition.IT)
CAUSAL_UNPATCHED = (Condition.ANCHOR, Condition.ICL, Condition.IT)


def layer_names(n_layers: int) -> list[str]:
    """Names of the n_layers + 2 entries of the layer axis."""
    return ["embeddings"] + [f"block_{i}" for i in range(1, n_layers + 1)] + ["final_norm"]


@dataclass
class RunStates:
    """One run's last-token states and label log-probabilities per example and condition,
    with the optional cross-adapter and causal arrays; stored as one safetensors file."""

    hidden: Hidden
    label_logprobs: np.ndarray  # [n_examples, n_conditions, n_labels]
    labels: np.ndarray  # [n_examples]
    conditions: list[Condition]
    example_ids: list[str]
    label_names: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    cross_hidden: np.ndarray | None = None  # [n_examples, m_max, n_layers+2, d_model]
    cross_label_logprobs: np.ndarray | None = None  # [n_examples, m_max, n_labels]
    cross_adapter: np.ndarray | None = None  # [n_examples, m_max], -1 = padding
    causal: dict[str, np.ndarray] = field(default_factory=dict)  # ALL_CAUSAL_AXES; {}: not run

    def __post_init__(self) -> None:
        n_ex, n_cond, n_lay, d = self.hidden.shape
        self.conditions = [Condition(c) for c in self.conditions]  # as read from a file
        assert n_cond == len(self.conditions), (self.hidden.shape, self.conditions)
        assert n_ex == len(self.example_ids) == self.labels.shape[0]
        assert self.label_logprobs.shape[:2] == (n_ex, n_cond)
        if self.cross_adapter is not None:
            n, m = self.cross_adapter.shape
            assert n == n_ex, self.cross_adapter.shape
            assert self.cross_hidden is not None and self.cross_hidden.shape == (n, m, n_lay, d)
            assert self.cross_label_logprobs is not None
            assert self.cross_label_logprobs.shape == (n, m, self.label_logprobs.shape[2])
        names = set(self.causal)
        assert not names or names in (set(CAUSAL_AXES), set(ALL_CAUSAL_AXES)), sorted(names)
        for name, axes in ALL_CAUSAL_AXES.items():
            if name in self.causal:
                assert self.causal[name].ndim == len(axes.split(",")), (name, axes)

    @property
    def n_layers(self) -> int:
        """Decoder blocks; the layer axis also holds the embeddings and the final norm."""
        return self.hidden.shape[2] - 2

    @property
    def layer_names(self) -> list[str]:
        """What each entry of the layer axis is: 'embeddings', 'block_1', ..., 'final_norm'."""
        return layer_names(self.n_layers)

    def condition(self, name: str) -> ConditionStates:
        """The states of one condition."""
        return self.hidden[:, self.conditions.index(Condition(name))]

    def to_bytes(self) -> bytes:
        """The states as safetensors (float32, int64) with their axes and meanings in the header;
        equal states give equal bytes."""
        header = {
            "axes.hidden": "example,condition,layer,d_model",
            "axes.label_logprobs": "example,condition,label",
            "conditions": json.dumps(self.conditions),
            "example_ids": json.dumps(self.example_ids),
            "label_names": json.dumps(self.label_names),
            "layer_names": json.dumps(self.layer_names),
            "layer_indexing": "0 = embedding output; i = output of decoder block i (before "
            "the final norm); n_layers + 1 = final norm output",
            "position": "last prompt token",
            "meta": json.dumps(self.meta, sort_keys=True),
        }
        tensors = {
            "hidden": np.ascontiguousarray(self.hidden, dtype="<f4"),
            "label_logprobs": np.ascontiguousarray(self.label_logprobs, dtype="<f4"),
            "labels": np.ascontiguousarray(self.labels, dtype="<i8"),
        }
        if self.cross_adapter is not None:
            assert self.cross_hidden is not None and self.cross_label_logprobs is not None
            header |= CROSS_AXES
            tensors |= {
                "cross_hidden": np.ascontiguousarray(self.cross_hidden, dtype="<f4"),
                "cross_label_logprobs": np.ascontiguousarray(
                    self.cross_label_logprobs, dtype="<f4"
                ),
                "cross_adapter": np.ascontiguousarray(self.cross_adapter, dtype="<i8"),
            }
        for name, arr in self.causal.items():
            header[f"axes.{name}"] = ALL_CAUSAL_AXES[name]
            kind = "<i8" if arr.dtype.kind in "iu" else "<f4"
            tensors[name] = np.ascontiguousarray(arr, dtype=kind)
        return _safetensors_bytes(tensors, header)

    @classmethod
    def from_bytes(cls, data: bytes) -> RunStates:
        """States read back from ``to_bytes`` output (absent optional arrays: None, or {})."""
        tensors = st_load(data)
        n = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + n]).get("__metadata__", {})
        return cls(
            hidden=tensors["hidden"],
            label_logprobs=tensors["label_logprobs"],
            labels=tensors["labels"],
            conditions=[Condition(c) for c in json.loads(header["conditions"])],
            example_ids=json.loads(header["example_ids"]),
            label_names=json.loads(header["label_names"]),
            meta=json.loads(header.get("meta", "{}")),
            cross_hidden=tensors.get("cross_hidden"),
            cross_label_logprobs=tensors.get("cross_label_logprobs"),
            cross_adapter=tensors.get("cross_adapter"),
            causal={k: tensors[k] for k in ALL_CAUSAL_AXES if k in tensors},
        )


CROSS_AXES = {
    "axes.cross_hidden": "example,adapter_slot,layer,d_model",
    "axes.cross_label_logprobs": "example,adapter_slot,label",
    "axes.cross_adapter": "example,adapter_slot",
    "cross_adapter.meaning": "the example (index on the example axis) whose demonstration set the "
    "slot's adapter was tuned on; -1 = padding",
}

_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<i8"): "I64"}


def _safetensors_bytes(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """The safetensors format, written with a sorted header so equal states give equal
    bytes (and checksums) on every write; ``safetensors.numpy.save`` orders it at random."""
    header: dict[str, Any] = {"__metadata__": metadata}
    offset = 0
    for name in sorted(tensors):
        arr = tensors[name]
        header[name] = {
            "dtype": _DTYPES[arr.dtype],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + arr.nbytes],
        }
        offset += arr.nbytes
    raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    body = b"".join(tensors[name].tobytes() for name in sorted(tensors))
    return len(raw).to_bytes(8, "little") + raw + body


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``: the checksum stored states are recorded and verified with."""
    return hashlib.sha256(data).hexdigest()
