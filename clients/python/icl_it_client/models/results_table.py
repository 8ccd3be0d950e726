from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.results_table_rows_item import ResultsTableRowsItem


T = TypeVar("T", bound="ResultsTable")


@_attrs_define
class ResultsTable:
    """``GET .../results?table=`` as JSON: one of the long tables of docs/EXPORTS.md.

    Attributes:
        columns (list[str]): Column names, in order.
        rows (list[ResultsTableRowsItem]): One object per row, keyed by column.
    """

    columns: list[str]
    rows: list[ResultsTableRowsItem]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        columns = self.columns

        rows = []
        for rows_item_data in self.rows:
            rows_item = rows_item_data.to_dict()
            rows.append(rows_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "columns": columns,
                "rows": rows,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_table_rows_item import ResultsTableRowsItem  # noqa: PLC0415

        d = dict(src_dict)
        columns = cast(list[str], d.pop("columns"))

        rows = []
        _rows = d.pop("rows")
        for rows_item_data in _rows:
            rows_item = ResultsTableRowsItem.from_dict(rows_item_data)

            rows.append(rows_item)

        results_table = cls(
            columns=columns,
            rows=rows,
        )

        results_table.additional_properties = d
        return results_table

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
