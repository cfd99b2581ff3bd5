"""Raw data downloads, as city portals offer them: every table of the published warehouse as
CSV or Parquet, written by DuckDB itself (COPY) from a read-only connection, and the
published file whole."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

import pandas as pd

from warehouse.connect import reading
from warehouse.spreadsheet_csv import FORMULA_STARTS

Format = Literal["csv", "parquet"]
_COPY_OPTIONS = {"csv": "(FORMAT csv, HEADER)", "parquet": "(FORMAT parquet)"}
# Bookkeeping and derived tables, not data: the migrations applied, the city search's index.
_INTERNAL = ("schema_migration", "city_name_search")


def tables(db: Path) -> pd.DataFrame:
    """Every data table of the published version: name, rows, and DuckDB's comment, if any."""
    with reading(db) as con:
        listed = con.execute("""
            SELECT table_name AS name, comment FROM duckdb_tables()
            WHERE database_name = current_database() AND NOT list_contains($internal, table_name)
            ORDER BY table_name
        """, {"internal": list(_INTERNAL)}).df()
        # the name comes from DuckDB's own catalogue, never from the user, and is quoted
        listed["rows"] = [con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                          for name in listed["name"]]
    return listed[["name", "rows", "comment"]]


def table_file(db: Path, name: str, form: Format) -> bytes:
    """Table `name` (one that `tables` lists) as a CSV or Parquet file. In a CSV, a text cell
    a spreadsheet would run as a formula gets a leading quote, as in every CSV citybench
    writes (warehouse.spreadsheet_csv): city and firm names come from users' files."""
    if name not in set(tables(db)["name"]):
        raise KeyError(f"no table {name!r} in the published warehouse")
    with tempfile.TemporaryDirectory() as folder, reading(db) as con:
        out = Path(folder) / f"{name}.{form}"
        rows = _neutralised(con, name) if form == "csv" else f'"{name}"'
        con.execute(f"COPY {rows} TO '{out}' {_COPY_OPTIONS[form]}")
        return out.read_bytes()


# a cell starting so is run by a spreadsheet: a class of spreadsheet_csv's one list of them
_FORMULA = "^[" + "".join(FORMULA_STARTS).replace("-", "") + "-]"


def _neutralised(con, name: str) -> str:
    """A SELECT of the table whose text cells get OWASP's leading quote where needed. The
    table's and columns' names come from DuckDB's own catalogue, never from the user."""
    columns = con.execute("""
        SELECT column_name, data_type FROM duckdb_columns()
        WHERE database_name = current_database() AND table_name = $table
        ORDER BY column_index
    """, {"table": name}).fetchall()
    parts = [f"""CASE WHEN regexp_matches("{column}", '{_FORMULA}') THEN '''' || "{column}" """
             f'''ELSE "{column}" END AS "{column}"''' if kind == "VARCHAR" else f'"{column}"'
             for column, kind in columns]
    return f'(SELECT {", ".join(parts)} FROM "{name}")'
