from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_controls_random_init_item_metrics import ResultsControlsRandomInitItemMetrics


T = TypeVar("T", bound="ResultsControlsRandomInitItem")


@_attrs_define
class ResultsControlsRandomInitItem:
    """
    Attributes:
        cell (str):
        matched_cell (None | str):
        model (None | str):
        layer (int):
        metrics (ResultsControlsRandomInitItemMetrics):
        it_final_loss (float | None | Unset):
    """

    cell: str
    matched_cell: None | str
    model: None | str
    layer: int
    metrics: ResultsControlsRandomInitItemMetrics
    it_final_loss: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        cell = self.cell

        matched_cell: None | str
        matched_cell = self.matched_cell

        model: None | str
        model = self.model

        layer = self.layer

        metrics = self.metrics.to_dict()

        it_final_loss: float | None | Unset
        if isinstance(self.it_final_loss, Unset):
            it_final_loss = UNSET
        else:
            it_final_loss = self.it_final_loss

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "cell": cell,
                "matched_cell": matched_cell,
                "model": model,
                "layer": layer,
                "metrics": metrics,
            }
        )
        if it_final_loss is not UNSET:
            field_dict["it_final_loss"] = it_final_loss

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_controls_random_init_item_metrics import ResultsControlsRandomInitItemMetrics  # noqa: PLC0415

        d = dict(src_dict)
        cell = d.pop("cell")

        def _parse_matched_cell(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        matched_cell = _parse_matched_cell(d.pop("matched_cell"))

        def _parse_model(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        model = _parse_model(d.pop("model"))

        layer = d.pop("layer")

        metrics = ResultsControlsRandomInitItemMetrics.from_dict(d.pop("metrics"))

        def _parse_it_final_loss(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        it_final_loss = _parse_it_final_loss(d.pop("it_final_loss", UNSET))

        results_controls_random_init_item = cls(
            cell=cell,
            matched_cell=matched_cell,
            model=model,
            layer=layer,
            metrics=metrics,
            it_final_loss=it_final_loss,
        )

        return results_controls_random_init_item
