from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.demo_spec_contrast import DemoSpecContrast
from ..models.demo_spec_scope import DemoSpecScope
from ..models.demo_spec_selection import DemoSpecSelection
from ..types import UNSET, Unset

T = TypeVar("T", bound="DemoSpec")


@_attrs_define
class DemoSpec:
    """The demonstration set D shown in context (ICL) and tuned on (IT).

    Attributes:
        k (int | Unset): Number of demonstrations. Default: 4.
        selection (DemoSpecSelection | Unset): random, or by sentence-embedding cosine to the inference example (all-
            MiniLM-L6-v2). Default: DemoSpecSelection.RANDOM.
        label_noise (float | Unset): Fraction of demonstration labels flipped. Default: 0.0.
        source_task (None | str | Unset): Draw demonstrations from another task (task mismatch). None = same task.
        scope (DemoSpecScope | Unset): per_example: one demonstration set (and adapter) per inference example (the
            paper); shared: one set for all examples. Default: DemoSpecScope.PER_EXAMPLE.
        balanced (bool | Unset): Random selection draws labels as evenly as possible. Default: True.
        contrast (DemoSpecContrast | Unset): Make the demonstration sets differ on purpose, so that an adapter tuned on
            one example's set is distinguishable from another's (needs a classification demonstration task). none: as
            selected. label_skewed: each set is dominated by one label (k - floor(k/4) demonstrations of it), the dominant
            label varying across examples and balanced within each gold label. verbalizer_swapped: each example's
            demonstrations use a label-word mapping of its own (a cyclic shift of the task's label words; shift 0 = the true
            words), varying across examples; that example's gold label is stored as the word its mapping assigns, so
            accuracy measures whether a condition follows its demonstrations' mapping. The query prompt carries no label
            words: ICL sees the mapping only in its demonstrations, IT only through its tuning. Default:
            DemoSpecContrast.NONE.
    """

    k: int | Unset = 4
    selection: DemoSpecSelection | Unset = DemoSpecSelection.RANDOM
    label_noise: float | Unset = 0.0
    source_task: None | str | Unset = UNSET
    scope: DemoSpecScope | Unset = DemoSpecScope.PER_EXAMPLE
    balanced: bool | Unset = True
    contrast: DemoSpecContrast | Unset = DemoSpecContrast.NONE

    def to_dict(self) -> dict[str, Any]:
        k = self.k

        selection: str | Unset = UNSET
        if not isinstance(self.selection, Unset):
            selection = self.selection.value

        label_noise = self.label_noise

        source_task: None | str | Unset
        if isinstance(self.source_task, Unset):
            source_task = UNSET
        else:
            source_task = self.source_task

        scope: str | Unset = UNSET
        if not isinstance(self.scope, Unset):
            scope = self.scope.value

        balanced = self.balanced

        contrast: str | Unset = UNSET
        if not isinstance(self.contrast, Unset):
            contrast = self.contrast.value

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if k is not UNSET:
            field_dict["k"] = k
        if selection is not UNSET:
            field_dict["selection"] = selection
        if label_noise is not UNSET:
            field_dict["label_noise"] = label_noise
        if source_task is not UNSET:
            field_dict["source_task"] = source_task
        if scope is not UNSET:
            field_dict["scope"] = scope
        if balanced is not UNSET:
            field_dict["balanced"] = balanced
        if contrast is not UNSET:
            field_dict["contrast"] = contrast

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        k = d.pop("k", UNSET)

        _selection = d.pop("selection", UNSET)
        selection: DemoSpecSelection | Unset
        if isinstance(_selection, Unset):
            selection = UNSET
        else:
            selection = DemoSpecSelection(_selection)

        label_noise = d.pop("label_noise", UNSET)

        def _parse_source_task(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        source_task = _parse_source_task(d.pop("source_task", UNSET))

        _scope = d.pop("scope", UNSET)
        scope: DemoSpecScope | Unset
        if isinstance(_scope, Unset):
            scope = UNSET
        else:
            scope = DemoSpecScope(_scope)

        balanced = d.pop("balanced", UNSET)

        _contrast = d.pop("contrast", UNSET)
        contrast: DemoSpecContrast | Unset
        if isinstance(_contrast, Unset):
            contrast = UNSET
        else:
            contrast = DemoSpecContrast(_contrast)

        demo_spec = cls(
            k=k,
            selection=selection,
            label_noise=label_noise,
            source_task=source_task,
            scope=scope,
            balanced=balanced,
            contrast=contrast,
        )

        return demo_spec
