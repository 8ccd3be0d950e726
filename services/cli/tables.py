"""Plain-text tables for the CLI: a header row and columns aligned to their widest cell."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], right: Iterable[int] = ()
) -> str:
    """``headers`` and ``rows`` as aligned columns (two spaces apart); the columns whose
    index is in ``right`` (numbers, sizes) are right-aligned. No trailing spaces."""
    cells = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    right = set(right)
    lines = []
    for row in cells:
        parts = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def human_size(n: int | None) -> str:
    """Bytes as people read them: 512 B, 1.5 KiB, 12.0 MiB; "-" when unknown."""
    if n is None:
        return "-"
    size = float(n)
    for unit in UNITS:
        if size < 1024 or unit == UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
