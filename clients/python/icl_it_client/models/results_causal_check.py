from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_causal_check_own_vs_cross import ResultsCausalCheckOwnVsCross
    from ..models.results_causal_check_own_vs_cross_adapter import ResultsCausalCheckOwnVsCrossAdapter
    from ..models.results_causal_check_patched import ResultsCausalCheckPatched
    from ..models.results_causal_check_unpatched import ResultsCausalCheckUnpatched


T = TypeVar("T", bound="ResultsCausalCheck")


@_attrs_define
class ResultsCausalCheck:
    """The task-vector check (activation patching; gpu_worker/patching.py, analysis/causal.py): example i's ICL or IT shift
    added to its zero-shot pass at each patched decoder block. Per-layer arrays are over 'layers' (layer-axis indices of
    the patched blocks). own: the example's own shift; cross: the mean over n_cross other examples' shifts. kl_<ref>:
    KL(patched output || <ref>'s output) over the whole vocabulary. cross_adapter (IT shift only, with the cross_adapter
    control): the example's OWN input through n_cross_adapter other examples' adapters, so own vs cross_adapter holds
    the input fixed and varies only the demonstration set (own_vs_cross_adapter: paired tests per patched layer).

        Attributes:
            layers (list[int]):
            layer_names (list[str]):
            n_cross (int):
            n_examples (int):
            headline_layer (int):
            patched (ResultsCausalCheckPatched):
            own_vs_cross (ResultsCausalCheckOwnVsCross):
            unpatched (ResultsCausalCheckUnpatched):
            head_check_max_abs (float | None):
            layers_skipped (list[int]):
            statement (str):
            n_cross_adapter (int | Unset):
            own_vs_cross_adapter (ResultsCausalCheckOwnVsCrossAdapter | Unset):
    """

    layers: list[int]
    layer_names: list[str]
    n_cross: int
    n_examples: int
    headline_layer: int
    patched: ResultsCausalCheckPatched
    own_vs_cross: ResultsCausalCheckOwnVsCross
    unpatched: ResultsCausalCheckUnpatched
    head_check_max_abs: float | None
    layers_skipped: list[int]
    statement: str
    n_cross_adapter: int | Unset = UNSET
    own_vs_cross_adapter: ResultsCausalCheckOwnVsCrossAdapter | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        layers = self.layers

        layer_names = self.layer_names

        n_cross = self.n_cross

        n_examples = self.n_examples

        headline_layer = self.headline_layer

        patched = self.patched.to_dict()

        own_vs_cross = self.own_vs_cross.to_dict()

        unpatched = self.unpatched.to_dict()

        head_check_max_abs: float | None
        head_check_max_abs = self.head_check_max_abs

        layers_skipped = self.layers_skipped

        statement = self.statement

        n_cross_adapter = self.n_cross_adapter

        own_vs_cross_adapter: dict[str, Any] | Unset = UNSET
        if not isinstance(self.own_vs_cross_adapter, Unset):
            own_vs_cross_adapter = self.own_vs_cross_adapter.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "layers": layers,
                "layer_names": layer_names,
                "n_cross": n_cross,
                "n_examples": n_examples,
                "headline_layer": headline_layer,
                "patched": patched,
                "own_vs_cross": own_vs_cross,
                "unpatched": unpatched,
                "head_check_max_abs": head_check_max_abs,
                "layers_skipped": layers_skipped,
                "statement": statement,
            }
        )
        if n_cross_adapter is not UNSET:
            field_dict["n_cross_adapter"] = n_cross_adapter
        if own_vs_cross_adapter is not UNSET:
            field_dict["own_vs_cross_adapter"] = own_vs_cross_adapter

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_causal_check_own_vs_cross import ResultsCausalCheckOwnVsCross  # noqa: PLC0415
        from ..models.results_causal_check_own_vs_cross_adapter import ResultsCausalCheckOwnVsCrossAdapter  # noqa: PLC0415
        from ..models.results_causal_check_patched import ResultsCausalCheckPatched  # noqa: PLC0415
        from ..models.results_causal_check_unpatched import ResultsCausalCheckUnpatched  # noqa: PLC0415

        d = dict(src_dict)
        layers = cast(list[int], d.pop("layers"))

        layer_names = cast(list[str], d.pop("layer_names"))

        n_cross = d.pop("n_cross")

        n_examples = d.pop("n_examples")

        headline_layer = d.pop("headline_layer")

        patched = ResultsCausalCheckPatched.from_dict(d.pop("patched"))

        own_vs_cross = ResultsCausalCheckOwnVsCross.from_dict(d.pop("own_vs_cross"))

        unpatched = ResultsCausalCheckUnpatched.from_dict(d.pop("unpatched"))

        def _parse_head_check_max_abs(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        head_check_max_abs = _parse_head_check_max_abs(d.pop("head_check_max_abs"))

        layers_skipped = cast(list[int], d.pop("layers_skipped"))

        statement = d.pop("statement")

        n_cross_adapter = d.pop("n_cross_adapter", UNSET)

        _own_vs_cross_adapter = d.pop("own_vs_cross_adapter", UNSET)
        own_vs_cross_adapter: ResultsCausalCheckOwnVsCrossAdapter | Unset
        if isinstance(_own_vs_cross_adapter, Unset):
            own_vs_cross_adapter = UNSET
        else:
            own_vs_cross_adapter = ResultsCausalCheckOwnVsCrossAdapter.from_dict(_own_vs_cross_adapter)

        results_causal_check = cls(
            layers=layers,
            layer_names=layer_names,
            n_cross=n_cross,
            n_examples=n_examples,
            headline_layer=headline_layer,
            patched=patched,
            own_vs_cross=own_vs_cross,
            unpatched=unpatched,
            head_check_max_abs=head_check_max_abs,
            layers_skipped=layers_skipped,
            statement=statement,
            n_cross_adapter=n_cross_adapter,
            own_vs_cross_adapter=own_vs_cross_adapter,
        )

        return results_causal_check
