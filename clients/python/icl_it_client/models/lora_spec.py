from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.lora_spec_loss_on import LoraSpecLossOn
from ..models.lora_spec_save_adapters import LoraSpecSaveAdapters
from ..types import UNSET, Unset

T = TypeVar("T", bound="LoraSpec")


@_attrs_define
class LoraSpec:
    """LoRA instruction tuning on the demonstrations (paper: q_proj, v_proj).

    Attributes:
        r (int | Unset):  Default: 8.
        alpha (float | Unset):  Default: 16.0.
        dropout (float | Unset):  Default: 0.0.
        target_modules (list[str] | Unset):
        lr (float | Unset):  Default: 0.001.
        epochs (int | Unset): Full-batch passes over D (one optimizer step each): a budget that does not grow with k.
            Default: 8.
        steps_per_demo (int | None | Unset): Overrides epochs: steps_per_demo x k full-batch steps, so the IT budget
            grows with the number of demonstrations as the ICL prompt does.
        max_steps (int | None | Unset): Overrides epochs and steps_per_demo.
        stop_loss (float | None | Unset): Stop early once the training loss is below this.
        loss_on (LoraSpecLossOn | Unset): Loss on the label tokens only, or on the whole sequence. Default:
            LoraSpecLossOn.LABEL.
        seed (int | Unset): Offset added to the run seed for adapter init. Default: 0.
        save_adapters (LoraSpecSaveAdapters | Unset): Save the tuned adapters as artifacts in peft's save_pretrained
            layout (runs/<run>/adapters/<n>/). auto: while a run's adapters take at most 64 MiB (small models); all; none.
            Default: LoraSpecSaveAdapters.AUTO.
    """

    r: int | Unset = 8
    alpha: float | Unset = 16.0
    dropout: float | Unset = 0.0
    target_modules: list[str] | Unset = UNSET
    lr: float | Unset = 0.001
    epochs: int | Unset = 8
    steps_per_demo: int | None | Unset = UNSET
    max_steps: int | None | Unset = UNSET
    stop_loss: float | None | Unset = UNSET
    loss_on: LoraSpecLossOn | Unset = LoraSpecLossOn.LABEL
    seed: int | Unset = 0
    save_adapters: LoraSpecSaveAdapters | Unset = LoraSpecSaveAdapters.AUTO

    def to_dict(self) -> dict[str, Any]:
        r = self.r

        alpha = self.alpha

        dropout = self.dropout

        target_modules: list[str] | Unset = UNSET
        if not isinstance(self.target_modules, Unset):
            target_modules = self.target_modules

        lr = self.lr

        epochs = self.epochs

        steps_per_demo: int | None | Unset
        if isinstance(self.steps_per_demo, Unset):
            steps_per_demo = UNSET
        else:
            steps_per_demo = self.steps_per_demo

        max_steps: int | None | Unset
        if isinstance(self.max_steps, Unset):
            max_steps = UNSET
        else:
            max_steps = self.max_steps

        stop_loss: float | None | Unset
        if isinstance(self.stop_loss, Unset):
            stop_loss = UNSET
        else:
            stop_loss = self.stop_loss

        loss_on: str | Unset = UNSET
        if not isinstance(self.loss_on, Unset):
            loss_on = self.loss_on.value

        seed = self.seed

        save_adapters: str | Unset = UNSET
        if not isinstance(self.save_adapters, Unset):
            save_adapters = self.save_adapters.value

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if r is not UNSET:
            field_dict["r"] = r
        if alpha is not UNSET:
            field_dict["alpha"] = alpha
        if dropout is not UNSET:
            field_dict["dropout"] = dropout
        if target_modules is not UNSET:
            field_dict["target_modules"] = target_modules
        if lr is not UNSET:
            field_dict["lr"] = lr
        if epochs is not UNSET:
            field_dict["epochs"] = epochs
        if steps_per_demo is not UNSET:
            field_dict["steps_per_demo"] = steps_per_demo
        if max_steps is not UNSET:
            field_dict["max_steps"] = max_steps
        if stop_loss is not UNSET:
            field_dict["stop_loss"] = stop_loss
        if loss_on is not UNSET:
            field_dict["loss_on"] = loss_on
        if seed is not UNSET:
            field_dict["seed"] = seed
        if save_adapters is not UNSET:
            field_dict["save_adapters"] = save_adapters

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        r = d.pop("r", UNSET)

        alpha = d.pop("alpha", UNSET)

        dropout = d.pop("dropout", UNSET)

        target_modules = cast(list[str], d.pop("target_modules", UNSET))

        lr = d.pop("lr", UNSET)

        epochs = d.pop("epochs", UNSET)

        def _parse_steps_per_demo(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        steps_per_demo = _parse_steps_per_demo(d.pop("steps_per_demo", UNSET))

        def _parse_max_steps(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_steps = _parse_max_steps(d.pop("max_steps", UNSET))

        def _parse_stop_loss(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        stop_loss = _parse_stop_loss(d.pop("stop_loss", UNSET))

        _loss_on = d.pop("loss_on", UNSET)
        loss_on: LoraSpecLossOn | Unset
        if isinstance(_loss_on, Unset):
            loss_on = UNSET
        else:
            loss_on = LoraSpecLossOn(_loss_on)

        seed = d.pop("seed", UNSET)

        _save_adapters = d.pop("save_adapters", UNSET)
        save_adapters: LoraSpecSaveAdapters | Unset
        if isinstance(_save_adapters, Unset):
            save_adapters = UNSET
        else:
            save_adapters = LoraSpecSaveAdapters(_save_adapters)

        lora_spec = cls(
            r=r,
            alpha=alpha,
            dropout=dropout,
            target_modules=target_modules,
            lr=lr,
            epochs=epochs,
            steps_per_demo=steps_per_demo,
            max_steps=max_steps,
            stop_loss=stop_loss,
            loss_on=loss_on,
            seed=seed,
            save_adapters=save_adapters,
        )

        return lora_spec
