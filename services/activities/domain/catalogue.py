"""The activity catalogue: each task (*uraian tugas*) with its time norm (*norma waktu*), and its CSV import."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

# Spreadsheet templates in the regions use the Indonesian column names; both are accepted.
_COLUMN_ALIASES = {
    "item_id": "item_id",
    "kode": "item_id",
    "unit_id": "unit_id",
    "position_id": "position_id",
    "jabatan_id": "position_id",
    "description": "description",
    "uraian_tugas": "description",
    "norm_minutes": "norm_minutes",
    "norma_waktu": "norm_minutes",
    "output_unit": "output_unit",
    "satuan_output": "output_unit",
}
_REQUIRED_COLUMNS = ("item_id", "description", "norm_minutes", "output_unit")


@dataclass(frozen=True)
class CatalogueItem:
    """A task staff can log; norm_minutes is the standard time for one unit of output (e.g. one letter).

    unit_id / position_id restrict the item to a unit or a position; None means everyone may use it.
    """

    item_id: str
    unit_id: str | None
    position_id: str | None
    description: str
    norm_minutes: int
    output_unit: str


@dataclass(frozen=True)
class RowError:
    """Why one line of an imported catalogue was refused (line 1 is the header)."""

    line: int
    field: str
    reason: str


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _column_names(header: list[str]) -> list[str | None]:
    return [_COLUMN_ALIASES.get(name.strip().lower().replace(" ", "_")) for name in header]


def _parse_row(values: dict[str, str], line: int) -> tuple[CatalogueItem | None, list[RowError]]:
    errors = [RowError(line, name, "is required") for name in _REQUIRED_COLUMNS if not values.get(name)]
    norm = values.get("norm_minutes", "")
    if norm and not (norm.isascii() and norm.isdigit() and int(norm) > 0):
        errors.append(RowError(line, "norm_minutes", f"must be a whole number of minutes above 0, not {norm!r}"))
    if errors:
        return None, errors
    item = CatalogueItem(
        item_id=values["item_id"],
        unit_id=values.get("unit_id") or None,
        position_id=values.get("position_id") or None,
        description=values["description"],
        norm_minutes=int(norm),
        output_unit=values["output_unit"],
    )
    return item, []


def _rows_with_lines(reader) -> Iterator[tuple[int, list[str]]]:
    # A quoted cell may span lines: a row is reported at the line where it starts.
    start = reader.line_num + 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def parse_catalogue_csv(text: str) -> tuple[list[CatalogueItem], list[RowError]]:
    """Read a catalogue CSV (`,` or `;`, optional BOM, header names in any case); keep good rows, report bad ones."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        return [], [RowError(1, "header", "the file is empty")]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.splitlines()[0]))
    columns = _column_names(next(reader))
    missing = [name for name in _REQUIRED_COLUMNS if name not in columns]
    if missing:
        return [], [RowError(1, name, "column is missing from the header") for name in missing]
    items: list[CatalogueItem] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, row in _rows_with_lines(reader):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            errors.append(RowError(line, "row", f"has {len(row)} values but the header has {len(columns)}"))
            continue
        item, row_errors = _parse_row({name: cell.strip() for name, cell in zip(columns, row) if name}, line)
        if item is not None and item.item_id in seen:
            row_errors = [RowError(line, "item_id", f"{item.item_id!r} already appears on line {seen[item.item_id]}")]
        if row_errors:
            errors.extend(row_errors)
            continue
        seen[item.item_id] = line
        items.append(item)
    return items, errors
