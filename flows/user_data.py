"""A user's own data file, read and checked: how municipal staff add figures of their own.

The canonical long format, one row per value:

    city       a canonical id (gn:2950159) or a city's name
    indicator  an indicator id: lower-case letters, digits and _ (bike_lanes_km)
    period     the year the value refers to
    value      a number; an empty cell is a missing value, left out (never zero)
    unit       optional: the unit, used when the indicator is new to the warehouse
    source     optional: where the value comes from (each source becomes a dataset)
    country    optional: ISO 3166 alpha-2 code of the city named (DE), to tell namesakes apart

Files are CSV (UTF-8, comma-separated, header on line 1), XLSX (first sheet, header in row 1)
or Parquet. They are parsed, never executed: no pickles, Parquet through pyarrow with its
pandas metadata ignored. Problems are reported with the file, the line or row and the column,
and what was expected.

This module imports neither Prefect nor the source registry, so that `citybench check FILE`
reuses it and still starts at once.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pandas as pd

REQUIRED = ("city", "indicator", "period", "value")
OPTIONAL = ("unit", "source", "country")
FORMATS = (".csv", ".xlsx", ".parquet")
CANONICAL_ID = re.compile(r"^gn:\d+$")
INDICATOR_ID = re.compile(r"^[a-z0-9_]+$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
# The warehouse's observation contract (warehouse.schemas.ObservationTable) takes these years.
FIRST_YEAR, LAST_YEAR = 1800, 2100
COLUMNS = ["position", "city", "country", "indicator", "period", "value", "unit", "source"]


@dataclass(frozen=True)
class Problem:
    """Something in a file that is not the canonical format, and where."""

    file: str
    position: str  # "line 4, column value", "row 7, column period", "byte 120", ...
    expected: str
    found: object = None

    def __str__(self) -> str:
        found = "" if self.found is None else f", found {str(self.found)[:60]!r}"
        return f"{self.file}, {self.position}: expected {self.expected}{found}"


@dataclass
class UserFile:
    name: str
    rows: pd.DataFrame  # COLUMNS, the rows with a value that passed every check
    problems: list[Problem] = field(default_factory=list)
    missing: int = 0  # rows without a value: left out

    @property
    def ok(self) -> bool:
        return not self.problems


def read_user_path(path: Path) -> UserFile:
    """A file on disk, as `citybench check FILE` reads it."""
    return read_user_file(str(path), path.read_bytes())


def read_user_file(name: str, content: bytes) -> UserFile:
    """Parse and check one file; `name` (a path or URL) tells its format by its suffix."""
    suffix = PurePosixPath(urlsplit(name).path).suffix.lower()
    if suffix not in FORMATS:
        return _failed(name, Problem(name, "the file name", f"a {', '.join(FORMATS)} file",
                                     suffix or "no suffix"))
    reader = {".csv": _csv_table, ".xlsx": _xlsx_table, ".parquet": _parquet_table}[suffix]
    try:
        header, body, where = reader(name, content)
    except _Unreadable as error:
        return _failed(name, error.problem)
    columns = [str(column).strip().casefold() for column in header]
    if problem := _header_problem(name, where(0), columns):
        return _failed(name, problem)
    return _check_rows(name, columns, body, where)


class _Unreadable(Exception):
    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def _failed(name: str, problem: Problem) -> UserFile:
    return UserFile(name, pd.DataFrame(columns=COLUMNS), [problem])


# --- the three formats: (header, rows, position of row i (0 = header)) ---------------------
def _csv_table(name: str, content: bytes):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problem = Problem(name, f"byte {error.start}", "UTF-8 text", error.reason)
        raise _Unreadable(problem) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    lines, rows = [], []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):  # blank lines carry nothing
                lines.append(reader.line_num)
                rows.append(row)
    except csv.Error as error:
        raise _Unreadable(
            Problem(name, f"line {reader.line_num}", "well-formed CSV", error)
        ) from None
    if not rows:
        raise _Unreadable(Problem(name, "line 1", "a header: " + ", ".join(REQUIRED)))
    return rows[0], rows[1:], lambda i: f"line {lines[i]}"


def _xlsx_table(name: str, content: bytes):
    try:
        sheet = pd.read_excel(io.BytesIO(content), sheet_name=0, header=None, dtype=object,
                              engine="calamine")
    except Exception as error:  # calamine's errors carry no position; the whole file is bad
        raise _Unreadable(
            Problem(name, f"the workbook ({len(content):,} bytes)", "an .xlsx workbook", error)
        ) from None
    if sheet.empty:
        raise _Unreadable(Problem(name, "row 1", "a header: " + ", ".join(REQUIRED)))
    numbers, rows = [], []
    for number, row in enumerate(sheet.itertuples(index=False), start=1):  # sheet's numbers
        cells = [_cell(v) for v in row]
        if any(cell is not None for cell in cells):  # blank rows carry nothing
            numbers.append(number)
            rows.append(cells)
    return rows[0], rows[1:], lambda i: f"row {numbers[i]}"


def _parquet_table(name: str, content: bytes):
    import pyarrow.parquet as pq  # only when a Parquet file is read: check starts faster

    try:
        table = pq.read_table(io.BytesIO(content))
        frame = table.to_pandas(ignore_metadata=True)  # no pandas objects rebuilt from the file
    except Exception as error:  # pyarrow names no offset either
        raise _Unreadable(
            Problem(name, f"the file ({len(content):,} bytes)", "a Parquet file", error)
        ) from None
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    return list(frame.columns), rows, lambda i: "the header" if i == 0 else f"row {i}"


def _cell(value: object) -> object:
    """Empty cells of every format as None; everything else as it came."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


# --- checks ---------------------------------------------------------------------------------
def _header_problem(name: str, position: str, columns: list[str]) -> Problem | None:
    expected = f"the columns {', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)})"
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in (*REQUIRED, *OPTIONAL)]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if missing or unknown or repeated:
        found = "; ".join(
            text
            for text in (
                missing and "missing " + ", ".join(missing),
                unknown and "unknown " + ", ".join(unknown),
                repeated and "repeated " + ", ".join(repeated),
            )
            if text
        )
        return Problem(name, position, expected, found)
    return None


def _check_rows(name: str, columns: list[str], body: list[list], where) -> UserFile:
    problems: list[Problem] = []
    rows, missing = [], 0
    seen: dict[tuple, str] = {}
    units: dict[str, tuple[str, str]] = {}
    for i, raw in enumerate(body, start=1):
        position = where(i)
        if len(raw) != len(columns):
            problems.append(Problem(name, position, f"{len(columns)} fields", len(raw)))
            continue
        cells = dict(zip(columns, raw, strict=True))
        row, found = _check_row(name, position, cells)
        problems.extend(found)
        if found:
            continue
        if row["value"] is None:
            missing += 1
            continue
        key = (row["city"], row["country"], row["indicator"], row["period"])
        if key in seen:
            problems.append(Problem(name, position, "one value per city, indicator and period",
                                    f"a second value (first at {seen[key]})"))
            continue
        seen[key] = position
        if row["unit"] is not None:
            first = units.setdefault(row["indicator"], (row["unit"], position))
            if first[0] != row["unit"]:
                problems.append(Problem(
                    name, f"{position}, column unit",
                    f"{first[0]!r} for {row['indicator']}, as at {first[1]}", row["unit"]))
                continue
        rows.append({"position": position, **row})
    return UserFile(name, pd.DataFrame(rows, columns=COLUMNS), problems, missing)


def _check_row(name: str, position: str, cells: dict) -> tuple[dict, list[Problem]]:
    problems = []

    def bad(column: str, expected: str) -> None:
        problems.append(Problem(name, f"{position}, column {column}", expected, cells[column]))

    city = _text(cells["city"])
    if city is None:
        bad("city", "a city's id (gn:123) or name")
    elif city.casefold().startswith("gn:") and not CANONICAL_ID.match(city):
        bad("city", "a canonical id of the form gn:<GeoNames id>")
    indicator = _text(cells["indicator"])
    if indicator is None or not INDICATOR_ID.match(indicator):
        bad("indicator", "an indicator id of lower-case letters, digits and _")
    period = _year(cells["period"])
    if period is None:
        bad("period", f"a year from {FIRST_YEAR} to {LAST_YEAR}")
    value = cells["value"]
    if _text(value) is None:
        value = None
    else:
        value = _number(value)
        if value is None:
            bad("value", "a number (or an empty cell for a missing value)")
    country = _text(cells.get("country"))
    if country is not None:
        country = country.upper()
        if not COUNTRY.match(country):
            bad("country", "an ISO 3166 alpha-2 code such as DE")
    row = {
        "city": city,
        "country": country,
        "indicator": indicator,
        "period": period,
        "value": value,
        "unit": _text(cells.get("unit")),
        "source": _text(cells.get("source")),
    }
    return row, problems


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, int | float) else float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _year(value: object) -> int | None:
    number = _number(value)
    if number is None or not number.is_integer():
        return None
    year = int(number)
    return year if FIRST_YEAR <= year <= LAST_YEAR else None
