"""A service-value matrix (GaWC style: cities x firms, values 0-5) read from CSV or Excel bytes
and checked cell by cell.

Layout, as GaWC and the studies following it publish matrices:

    City      [Country]  Firm A  Firm B  ...     <- header row
    [Sector]  []         Law     Banking ...     <- optional: each firm's sector
    NEW YORK  [US]       5       2       ...     <- one row per city

The `gawc` source reads its matrices with it (values 0-5), and so does `citybench network
MATRIX` (any non-negative values). It is here rather than in flows/ so that the app's command
can use it too, without Prefect or pandera.

Values are checked the same way from either format: a number (a CSV cell may use exponent
notation, as a spreadsheet cell holds any float), finite, from 0 to a maximum. `citybench
network` accepts up to MAX_MATRIX_VALUE: with whole values below it every connectivity is an
exact sum (a city's total and its share of the total stay below 2**53), and larger values
(1e20, 1e200) cancel out of v(T - v) or overflow, and cities get wrong ranks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from warehouse.csv_records import STRAY_BYTE_SHARE, read_csv_records
from warehouse.parse_error import ParseError
from warehouse.workbook import is_workbook, sheet_rows

MAX_SERVICE_VALUE = 5
MAX_MATRIX_VALUE = 1e9
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class ServiceMatrix:
    values: pd.DataFrame  # index: cities as the file names them; columns: firms; 0-5
    country: pd.Series | None  # city -> country as written, when the file has a Country column
    sector: pd.Series | None  # firm -> sector, when the file has a Sector row
    row_of: pd.Series  # city -> the row (spreadsheet row or CSV line) it was read from
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Grid:
    """Cells as read, with where each came from, so every complaint can name its cell."""

    rows: list[list[object]]
    row_numbers: list[int]  # 1-based row (Excel) or line (CSV) of each row
    file: str
    sheet: str | None

    def at(self, row: int, column: int) -> str:
        line = self.row_numbers[row]
        if self.sheet is None:
            return f"line {line}, field {column + 1}"
        return f"sheet {self.sheet!r}, cell {column_letter(column)}{line}"


def column_letter(column: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def read_service_matrix(content: bytes, file: str, sheet: str | None = None,
                        max_value: float = MAX_SERVICE_VALUE) -> ServiceMatrix:
    """The validated matrix, or ParseError naming the cell that is not what a matrix holds.
    Values run from 0 to `max_value`."""
    grid = _grid(content, file, sheet)
    grid = _without_blank_lines(grid)
    if len(grid.rows) < 2:
        raise ParseError(file, "whole file", "a header row and at least one city row",
                         f"{len(grid.rows)} non-blank row(s)")
    header = grid.rows[0]
    has_country = len(header) > 1 and _text(header[1]).casefold() == "country"
    first_firm = 2 if has_country else 1
    has_sector = _text(grid.rows[1][0]).casefold() == "sector"
    first_city = 2 if has_sector else 1
    if len(header) <= first_firm:
        raise ParseError(file, grid.at(0, first_firm), "a firm name in the header row", "nothing")
    if len(grid.rows) <= first_city:
        raise ParseError(file, "end of file", "at least one city row after the header")

    notes: list[str] = []
    firms = _firm_names(grid, first_firm, notes)
    cities = _city_names(grid, first_city)
    values = pd.DataFrame(
        [[_value(grid, r, c, max_value) for c in range(first_firm, len(header))]
         for r in range(first_city, len(grid.rows))],
        index=pd.Index(cities, name="city"),
        columns=firms,
    )
    values = _merge_repeated_firms(values, grid, first_firm, notes)
    country = sector = None
    if has_country:
        country = pd.Series([_text(grid.rows[r][1]) or None
                             for r in range(first_city, len(grid.rows))], index=values.index)
    if has_sector:
        sector = pd.Series([_text(grid.rows[1][c]) or None
                            for c in range(first_firm, len(header))], index=firms)
        sector = sector[~sector.index.duplicated()]
    row_of = pd.Series(grid.row_numbers[first_city:], index=values.index)
    return ServiceMatrix(values, country, sector, row_of, tuple(notes))


def _grid(content: bytes, file: str, sheet: str | None) -> _Grid:
    if is_workbook(content):
        name, rows = sheet_rows(content, file, 0 if sheet is None else sheet, "the matrix sheet")
        return _Grid(rows, list(range(1, len(rows) + 1)), file, name)
    records = read_csv_records(content, file, stray_bytes=STRAY_BYTE_SHARE)
    return _Grid(records.rows, records.lines, file, None)


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip()) or (
        isinstance(cell, float) and cell != cell
    )


def _text(cell: object) -> str:
    if _blank(cell):
        return ""
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 2 ** 53:
        return str(int(cell))
    return str(cell).strip()


def _without_blank_lines(grid: _Grid) -> _Grid:
    """Rows and columns with nothing in them (not even a header) are spreadsheet margins."""
    kept = [i for i, row in enumerate(grid.rows) if not all(map(_blank, row))]
    rows = [grid.rows[i] for i in kept]
    width = max((len(r) for r in rows), default=0)
    rows = [r + [None] * (width - len(r)) for r in rows]
    used = [c for c in range(width) if not all(_blank(r[c]) for r in rows)]
    last = used[-1] + 1 if used else 0
    # Only trailing columns are dropped: an empty column inside the matrix is refused later.
    return _Grid([r[:last] for r in rows], [grid.row_numbers[i] for i in kept], grid.file,
                 grid.sheet)


def _firm_names(grid: _Grid, first_firm: int, notes: list[str]) -> list[str]:
    names = []
    for c in range(first_firm, len(grid.rows[0])):
        name = _text(grid.rows[0][c])
        if all(_blank(grid.rows[r][c]) for r in range(1, len(grid.rows))):
            raise ParseError(grid.file, grid.at(0, c), "service values below the firm's name",
                             f"an empty column{f' under {name!r}' if name else ''}")
        if not name:
            # The 2018 FSU matrix has one such firm; its values count in the authors'
            # connectivities, so it is kept under a name that says where it is.
            name = f"unnamed firm (column {column_letter(c)})"
            notes.append(f"{grid.file}: {grid.at(0, c)} has values but no firm name: "
                         f"kept as {name!r}")
        names.append(name)
    return names


def _city_names(grid: _Grid, first_city: int) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for r in range(first_city, len(grid.rows)):
        name = _text(grid.rows[r][0])
        if not name:
            raise ParseError(grid.file, grid.at(r, 0), "a city name", "a blank cell")
        folded = name.casefold()
        if folded in seen:
            raise ParseError(grid.file, grid.at(r, 0),
                             f"each city once (also in {grid.at(seen[folded], 0)})", name)
        seen[folded] = r
        names.append(name)
    return names


def _value(grid: _Grid, r: int, c: int, max_value: float) -> float:
    cell = grid.rows[r][c]
    where = f"{grid.at(r, c)} ({_text(grid.rows[r][0])}, {_text(grid.rows[0][c]) or 'unnamed'})"
    expected = f"a service value 0-{max_value:g}"
    if isinstance(cell, bool) or _blank(cell):
        raise ParseError(grid.file, where, expected,
                         "a blank cell" if not isinstance(cell, bool) else cell)
    numeric = isinstance(cell, int | float) or (isinstance(cell, str)
                                                and _NUMBER.match(cell.strip()) is not None)
    if not numeric:
        raise ParseError(grid.file, where, expected, cell)
    value = float(cell)
    if not 0 <= value <= max_value:  # NaN fails too
        raise ParseError(grid.file, where, expected, _text(cell))
    return value


def _merge_repeated_firms(values: pd.DataFrame, grid: _Grid, first_firm: int,
                          notes: list[str]) -> pd.DataFrame:
    """A firm listed twice with the same values is one firm (the 2015 FSU matrix lists FTI
    Consulting under two sectors); listed twice with different values it cannot be told which
    is right."""
    repeated = values.columns[values.columns.duplicated()].unique()
    for firm in repeated:
        positions = [i for i, name in enumerate(values.columns) if name == firm]
        block = values.iloc[:, positions]
        if not block.eq(block.iloc[:, 0], axis=0).all().all():
            raise ParseError(grid.file, grid.at(0, first_firm + positions[1]),
                             f"each firm once (also in {grid.at(0, first_firm + positions[0])})",
                             firm)
        notes.append(f"{grid.file}: {firm!r} is listed {len(positions)} times with the same "
                     f"values: read once")
    return values.loc[:, ~values.columns.duplicated()]
