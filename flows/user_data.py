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
pandas metadata ignored.

Reading turns a file into its rows as text, each with its position (line 4, row 7); a file
that cannot be read as a table at all (not UTF-8, a broken workbook, a header without the
required columns) is a ParseError. The rows are then checked by the pandera contract below,
UserRows, as every frame of a refresh is: each bad row is rejected with its position, column
and what was expected, and the good rows go on. `citybench check FILE` runs the same steps.

This module imports neither Prefect nor the publishers' sources.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from indicators.names import CITY_ID as CANONICAL_ID
from warehouse import checks  # noqa: F401  (registers str_fullmatch for UserRows)
from warehouse.csv_records import read_csv_records
from warehouse.parse_error import ParseError
from warehouse.workbook import sheet_frame

REQUIRED = ("city", "indicator", "period", "value")
OPTIONAL = ("unit", "source", "country")
FORMATS = (".csv", ".xlsx", ".parquet")
PARQUET_MAGIC = b"PAR1"
# where a row is, the format's columns, and how many fields the row and its header have
COLUMNS = ["file", "position", *REQUIRED, *OPTIONAL, "fields", "header_fields"]


class FileRows(pa.DataFrameModel):
    """What every user file's rows have (values here, practices in flows/sources/practices):
    where each row is, and the city it is about."""

    file: Series[str]
    position: Series[str]
    fields: Series[int]
    header_fields: Series[int]
    city: Series[str] = pa.Field(str_length={"min_value": 1})
    country: Series[str] = pa.Field(str_fullmatch=r"[A-Z]{2}", nullable=True)

    class Config:  # the subclasses' Config adds to this one
        strict = "filter"
        coerce = True

    @pa.check("city", error="a city's id of the form gn:<GeoNames id>, or its name")
    @classmethod
    def city_id_shape(cls, city: Series[str]) -> Series[bool]:
        return ~city.str.casefold().str.startswith("gn:") | city.str.fullmatch(CANONICAL_ID.pattern)

    @pa.dataframe_check(error="fields: as many fields as the header has")
    @classmethod
    def whole_row(cls, rows: pd.DataFrame) -> Series[bool]:
        return rows["fields"] == rows["header_fields"]


class UserRows(FileRows):
    """A user file's rows, cell text as read; the contract of the canonical long format."""

    indicator: Series[str] = pa.Field(str_fullmatch=r"[a-z0-9_]+")
    # nullable type, so that an empty cell is reported as empty, not as a failed conversion
    period: Series[pd.Int32Dtype] = pa.Field(ge=1800, le=2100)
    value: Series[float]
    unit: Series[str] = pa.Field(nullable=True)
    source: Series[str] = pa.Field(nullable=True)

    class Config:
        name = "user rows"
        unique = ["file", "city", "country", "indicator", "period"]

    @pa.check("value", error="a finite number")
    @classmethod
    def finite(cls, value: Series[float]) -> Series[bool]:
        return value.abs() != math.inf

    @pa.dataframe_check(error="unit: the unit the indicator's first row gives")
    @classmethod
    def one_unit(cls, rows: pd.DataFrame) -> Series[bool]:
        first = rows.dropna(subset=["unit"]).drop_duplicates("indicator")
        expected = rows["indicator"].map(first.set_index("indicator")["unit"])
        return rows["unit"].isna() | (rows["unit"] == expected)


@dataclass
class UserFile:
    name: str
    rows: pd.DataFrame  # COLUMNS as text, the rows that have a value; for UserRows to check
    missing: int = 0  # rows without a value: left out, never zero


def read_user_path(path: Path) -> UserFile:
    """A file on disk, as `citybench check FILE` reads it."""
    return read_user_file(str(path), path.read_bytes())


def read_user_file(name: str, content: bytes) -> UserFile:
    """The rows of one file as text; `name` (a path or URL) tells its format by its suffix.
    Raises ParseError when the file is not a table in the canonical format."""
    suffix = file_suffix(name)
    if suffix not in FORMATS:
        raise ParseError(name, "the file name", f"a {', '.join(FORMATS)} file",
                         suffix or "no suffix")
    return user_file(name, *read_table(name, content))


def file_suffix(name: str) -> str:
    """A path's or URL's suffix, in lower case (".csv")."""
    return PurePosixPath(urlsplit(name).path).suffix.lower()


def read_table(name: str, content: bytes, required: tuple[str, ...] = REQUIRED):
    """(header, rows, position of row i (0 = header)) of a file of one of FORMATS."""
    if file_suffix(name) == ".parquet":
        return _parquet_table(name, content)
    reader = csv_table if file_suffix(name) == ".csv" else xlsx_table
    return reader(name, content, required)


def user_file(name: str, header: list, body: list[list], where) -> UserFile:
    """A table read (read_table) as the canonical format's rows."""
    columns = header_columns(header)
    check_header(name, where(0), columns)
    rows, missing = [], 0
    for i, cells in enumerate(body, start=1):
        row = dict(zip(columns, map(cell_text, cells), strict=False))
        if row.get("value") is None and len(cells) == len(columns):
            missing += 1  # an empty value is a missing value: nothing to load
            continue
        rows.append({**row, "file": name, "position": where(i), "fields": len(cells),
                     "header_fields": len(columns)})
    frame = pd.DataFrame(rows, columns=COLUMNS).astype(
        {c: "object" for c in COLUMNS if c not in ("fields", "header_fields")})
    frame["country"] = frame["country"].map(lambda c: c.upper() if isinstance(c, str) else c)
    return UserFile(name, frame, missing)


# --- the three formats: (header, rows, position of row i (0 = header)) ---------------------
# CSV and XLSX are read alike for every kind of user file (flows/sources/practices.py too):
# `required` names the columns a header must have, for the message when there is none.
def csv_table(name: str, content: bytes, required: tuple[str, ...] = REQUIRED):
    records = read_csv_records(content, name, delimiter=",", ragged=True)
    if not records.rows:
        raise ParseError(name, "line 1", "a header: " + ", ".join(required))
    return records.rows[0], records.rows[1:], lambda i: f"line {records.lines[i]}"


def xlsx_table(name: str, content: bytes, required: tuple[str, ...] = REQUIRED):
    # no NA guessing: a country NA is Namibia, a value "n/a" is text to be reported
    sheet = sheet_frame(content, name, 0, "an .xlsx workbook", header=None, dtype=object,
                        keep_default_na=False, na_values=[])
    numbers, rows = [], []
    for number, row in enumerate(sheet.itertuples(index=False), start=1):  # sheet's numbers
        cells = list(row)
        if any(cell_text(cell) is not None for cell in cells):  # blank rows carry nothing
            numbers.append(number)
            rows.append(cells)
    if not rows:
        raise ParseError(name, "row 1", "a header: " + ", ".join(required))
    return rows[0], rows[1:], lambda i: f"row {numbers[i]}"


def _parquet_table(name: str, content: bytes):
    import pyarrow.parquet as pq  # only when a Parquet file is read: check starts faster

    if not content.startswith(PARQUET_MAGIC):
        raise ParseError(name, "byte 0", "a Parquet file (it opens with PAR1)", content[:8])
    if not content.endswith(PARQUET_MAGIC):  # its footer, which says where all is, is last
        raise ParseError(name, f"byte {len(content):,} (end of file)",
                         "a Parquet file, complete (it ends with PAR1)", content[-8:])
    try:
        table = pq.read_table(io.BytesIO(content))
        frame = table.to_pandas(ignore_metadata=True)  # no pandas objects rebuilt from the file
    except Exception as error:  # pyarrow names no offset
        raise ParseError(name, f"the file ({len(content):,} bytes)", "a Parquet file",
                         error) from None
    rows = [list(row) for row in frame.itertuples(index=False)]
    return list(frame.columns), rows, lambda i: "the header" if i == 0 else f"row {i}"


def header_columns(header: list) -> list[str]:
    """A header's cells as column names: trimmed, in lower case."""
    return [str(column).strip().casefold() for column in header]


def cell_text(value: object) -> str | None:
    """A cell of any format as the text the contract reads; empty cells as None. Whole
    numbers a spreadsheet stores as floats read as whole numbers (2020, not 2020.0)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def check_header(name: str, position: str, columns: list[str],
                 required: tuple[str, ...] = REQUIRED, optional: tuple[str, ...] = OPTIONAL
                 ) -> None:
    """A ParseError unless the columns are the required ones, and optional ones, once each."""
    expected = f"the columns {', '.join(required)} (and optionally {', '.join(optional)})"
    missing = [c for c in required if c not in columns]
    unknown = [c for c in columns if c not in (*required, *optional)]
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
        raise ParseError(name, position, expected, found)
