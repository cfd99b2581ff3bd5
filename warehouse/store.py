"""What a refresh writes into the staging warehouse, source by source, as named operations.

The pipeline (flows/pipeline.py) decides when; these functions say how, in SQL on the tables
of tables.py. Table and column names in the SQL below come from tables.py, never from
user text; values are parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.connect import Connection
from warehouse.schemas import SourceTable
from warehouse.sync import SyncCounts, sync_table
from warehouse.tables import FACTS, LOADED, WRITTEN
from warehouse.validation import REJECTED_COLUMNS


@dataclass(frozen=True)
class LoadRecord:
    """One row of `load`: a source's attempt in one refresh."""

    load_id: int
    flow_run_id: str | None
    source_id: str
    started_at: datetime
    finished_at: datetime
    status: str  # 'success' | 'failed'
    rows_read: int
    rows_loaded: int
    rows_changed: int
    rows_rejected: int
    error: str | None
    records_unresolved: int | None = None  # source records no city was found for
    records_to_resolve: int | None = None  # of the records the source tried to tie to one
    input_sha256: str | None = None  # what it read (flows/pipeline.py input_sha256)


@contextmanager
def transaction(con: Connection) -> Iterator[None]:
    """All of a block's writes, or none: a source that fails halfway leaves no row behind."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        # A database DuckDB invalidated (a full disk) has nothing left to roll back: the error
        # that invalidated it is the one to report, not the ROLLBACK's.
        with suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def holds_cities(db: Path) -> bool:
    """Whether the warehouse file `db` holds any city (a file not there yet holds none)."""
    if not db.is_file():
        return False
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT EXISTS (SELECT 1 FROM city)").fetchone()[0]
    except duckdb.CatalogException:  # made before the schema: no city table
        return False
    finally:
        con.close()


def next_load_id(con: Connection) -> int:
    return con.execute('SELECT coalesce(max(load_id), 0) + 1 FROM "load"').fetchone()[0]


def unchanged_input(con: Connection, source_id: str) -> str | None:
    """The input hash of the source's last successful load, unless a city registry changed
    rows after it (then the same files may resolve to other cities, and are loaded again)."""
    row = con.execute("""
        SELECT input_sha256 FROM "load" AS mine
        WHERE source_id = ? AND status = 'success'
          AND NOT EXISTS (
              SELECT 1 FROM "load" AS later
              WHERE later.load_id > mine.load_id AND later.status = 'success'
                AND later.rows_changed > 0 AND later.source_id <> mine.source_id
                AND later.source_id IN (SELECT source_id FROM city_alias
                                        WHERE scheme = 'geonames'))
        ORDER BY load_id DESC LIMIT 1""", [source_id]).fetchone()
    return row[0] if row else None


def network_ids(con: Connection) -> pd.Series:
    """The organisations the warehouse defines (memberships must name one)."""
    return con.execute("SELECT network_id FROM network").df()["network_id"]


def take_over_registry(con: Connection, source_id: str) -> list[str]:
    """One registry per warehouse: the GeoNames package and the GeoNames dump both define the
    cities and the same indicators, so loading one removes what the other held. Registries are
    the sources that hold GeoNames ids (city_alias scheme 'geonames'). Returns the replaced."""
    others = [row[0] for row in con.execute(
        "SELECT DISTINCT source_id FROM city_alias WHERE scheme = 'geonames' AND source_id <> ?",
        [source_id],
    ).fetchall()]
    owned = [name for name, table in LOADED.items() if table.owner == "source_id"]
    for other in others:
        for table in owned:
            con.execute(f"DELETE FROM {table} WHERE source_id = ?", [other])
    return others


def write_source(con: Connection, row: pd.DataFrame) -> None:
    """The source's own row (publisher, licence, ...), validated by its contract."""
    source_id = row["source_id"].iloc[0]
    sync_table(con, "source", SourceTable.validate(row), ["source_id"],
               owner=("source_id", source_id))


def write_table(
    con: Connection, table: str, rows: pd.DataFrame, source_id: str, load_id: int
) -> SyncCounts:
    """Make the source's rows of `table` equal to `rows`; facts are stamped with the load."""
    spec = LOADED[table]
    owner = (spec.owner, source_id) if spec.owner else None
    stamp = ("load_id", load_id) if spec.fact else None
    if stamp:
        rows = rows.assign(load_id=load_id)
    return sync_table(con, table, rows, list(spec.key), owner=owner, stamp=stamp)


def mark_retrieved(con: Connection, source_id: str, retrieved_at: datetime, changed: bool) -> None:
    """`retrieved_at` says when the data held now was fetched: it moves only when the data did
    (or when it was never set)."""
    for table in ("source", "dataset"):
        con.execute(
            f"UPDATE {table} SET retrieved_at = ? "
            "WHERE source_id = ? AND (retrieved_at IS NULL OR ?)",
            [retrieved_at, source_id, changed],
        )


def _city_references() -> list[tuple[str, str]]:
    return [(name, ref.column) for name, table in WRITTEN.items()
            for ref in table.references if ref.table == "city"]


def drop_facts_of_vanished_cities(con: Connection) -> dict[str, int]:
    """A city the new registry no longer has takes its facts with it; other sources tie their
    records to the new registry on their next load. Returns the rows dropped, by table."""
    dropped: dict[str, int] = {}
    for table, column in _city_references():
        count = con.execute(
            f"DELETE FROM {table} WHERE {column} NOT IN (SELECT city_id FROM city)"
        ).fetchone()[0]
        if count:
            dropped[table] = dropped.get(table, 0) + count
    return dropped


def facts_held(con: Connection, source_id: str) -> int:
    """Observations, memberships and links the source holds in the warehouse: its rows held,
    as `citybench status` and the Sources page count them."""
    return sum(facts_held_by_table(con, source_id).values())


def facts_held_by_table(con: Connection, source_id: str) -> dict[str, int]:
    return {table: con.execute(f"SELECT count(*) FROM {table} WHERE source_id = ?",
                               [source_id]).fetchone()[0]
            for table in FACTS}


def record_load(con: Connection, load: LoadRecord, rejected: pd.DataFrame) -> None:
    """The load's row, and every row it rejected with the check and the reason."""
    columns = ", ".join(load.__dict__)  # the dataclass's own names: no user text
    values = list(load.__dict__.values())
    con.execute(f'INSERT INTO "load" ({columns}) VALUES ({", ".join("?" * len(values))})',
                values)
    if not rejected.empty:
        rows = rejected.assign(load_id=load.load_id, source_id=load.source_id)
        con.register("_rejected", rows[["load_id", "source_id", *REJECTED_COLUMNS]])
        try:
            con.execute("INSERT INTO rejected SELECT * FROM _rejected")
        finally:
            con.unregister("_rejected")
