from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ResultsPairingTest")


@_attrs_define
class ResultsPairingTest:
    """Pairing-permutation test: mean(diagonal) - mean(off-diagonal) of a score matrix, null from permuting the pairing
    within adapter groups; CI by inverting the same test (null = unbounded).

        Attributes:
            n (int):
            mean_a (float | None):
            mean_b (float | None):
            mean_diff (float | None):
            ci_low (float | None):
            ci_high (float | None):
            p_value (float | None):
            method (str):
            alpha (float):
            significant (bool):
            min_attainable_p (float | None):
            mde (float | None): Minimum detectable effect: the smallest true difference this test detects with 80% power at
                its alpha (null when no result of this n can reach alpha).
            n_permutations (int): Pairings enumerated (exact) or Monte Carlo draws (then p = (hits + 1) / (draws + 1)).
            exact (bool):
            n_blocks (int | Unset):
            null_sd (float | None | Unset):
            a (str | Unset):
            b (str | Unset):
            null_shift_sd (float | None | Unset):
    """

    n: int
    mean_a: float | None
    mean_b: float | None
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    method: str
    alpha: float
    significant: bool
    min_attainable_p: float | None
    mde: float | None
    n_permutations: int
    exact: bool
    n_blocks: int | Unset = UNSET
    null_sd: float | None | Unset = UNSET
    a: str | Unset = UNSET
    b: str | Unset = UNSET
    null_shift_sd: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        n = self.n

        mean_a: float | None
        mean_a = self.mean_a

        mean_b: float | None
        mean_b = self.mean_b

        mean_diff: float | None
        mean_diff = self.mean_diff

        ci_low: float | None
        ci_low = self.ci_low

        ci_high: float | None
        ci_high = self.ci_high

        p_value: float | None
        p_value = self.p_value

        method = self.method

        alpha = self.alpha

        significant = self.significant

        min_attainable_p: float | None
        min_attainable_p = self.min_attainable_p

        mde: float | None
        mde = self.mde

        n_permutations = self.n_permutations

        exact = self.exact

        n_blocks = self.n_blocks

        null_sd: float | None | Unset
        if isinstance(self.null_sd, Unset):
            null_sd = UNSET
        else:
            null_sd = self.null_sd

        a = self.a

        b = self.b

        null_shift_sd: float | None | Unset
        if isinstance(self.null_shift_sd, Unset):
            null_shift_sd = UNSET
        else:
            null_shift_sd = self.null_shift_sd

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "n": n,
                "mean_a": mean_a,
                "mean_b": mean_b,
                "mean_diff": mean_diff,
                "ci_low": ci_low,
                "ci_high": ci_high,
                "p_value": p_value,
                "method": method,
                "alpha": alpha,
                "significant": significant,
                "min_attainable_p": min_attainable_p,
                "mde": mde,
                "n_permutations": n_permutations,
                "exact": exact,
            }
        )
        if n_blocks is not UNSET:
            field_dict["n_blocks"] = n_blocks
        if null_sd is not UNSET:
            field_dict["null_sd"] = null_sd
        if a is not UNSET:
            field_dict["a"] = a
        if b is not UNSET:
            field_dict["b"] = b
        if null_shift_sd is not UNSET:
            field_dict["null_shift_sd"] = null_shift_sd

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        n = d.pop("n")

        def _parse_mean_a(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        mean_a = _parse_mean_a(d.pop("mean_a"))

        def _parse_mean_b(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        mean_b = _parse_mean_b(d.pop("mean_b"))

        def _parse_mean_diff(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        mean_diff = _parse_mean_diff(d.pop("mean_diff"))

        def _parse_ci_low(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        ci_low = _parse_ci_low(d.pop("ci_low"))

        def _parse_ci_high(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        ci_high = _parse_ci_high(d.pop("ci_high"))

        def _parse_p_value(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        p_value = _parse_p_value(d.pop("p_value"))

        method = d.pop("method")

        alpha = d.pop("alpha")

        significant = d.pop("significant")

        def _parse_min_attainable_p(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        min_attainable_p = _parse_min_attainable_p(d.pop("min_attainable_p"))

        def _parse_mde(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        mde = _parse_mde(d.pop("mde"))

        n_permutations = d.pop("n_permutations")

        exact = d.pop("exact")

        n_blocks = d.pop("n_blocks", UNSET)

        def _parse_null_sd(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        null_sd = _parse_null_sd(d.pop("null_sd", UNSET))

        a = d.pop("a", UNSET)

        b = d.pop("b", UNSET)

        def _parse_null_shift_sd(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        null_shift_sd = _parse_null_shift_sd(d.pop("null_shift_sd", UNSET))

        results_pairing_test = cls(
            n=n,
            mean_a=mean_a,
            mean_b=mean_b,
            mean_diff=mean_diff,
            ci_low=ci_low,
            ci_high=ci_high,
            p_value=p_value,
            method=method,
            alpha=alpha,
            significant=significant,
            min_attainable_p=min_attainable_p,
            mde=mde,
            n_permutations=n_permutations,
            exact=exact,
            n_blocks=n_blocks,
            null_sd=null_sd,
            a=a,
            b=b,
            null_shift_sd=null_shift_sd,
        )

        return results_pairing_test
