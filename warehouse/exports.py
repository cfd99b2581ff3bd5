"""Raw data downloads, as city portals offer them: every table of the published warehouse as
CSV or Parquet, written by DuckDB itself (COPY) from a read-only connection, and the
published file whole."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

import pandas as pd

from warehouse.connect import reading

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
    """Table `name` (one that `tables` lists) as a CSV or Parquet file."""
    if name not in set(tables(db)["name"]):
        raise KeyError(f"no table {name!r} in the published warehouse")
    with tempfile.TemporaryDirectory() as folder, reading(db) as con:
        out = Path(folder) / f"{name}.{form}"
        con.execute(f'COPY "{name}" TO \'{out}\' {_COPY_OPTIONS[form]}')
        return out.read_bytes()
