"""Bring a table in line with a source's fresh rows, touching only what changed.

A refresh that finds the same data changes nothing: unchanged rows keep their values and the
load that last changed them, so a re-run adds no rows and moves no published value.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa


@dataclass(frozen=True)
class SyncCounts:
    inserted: int
    updated: int
    deleted: int

    @property
    def changed(self) -> int:
        return self.inserted + self.updated + self.deleted


def _quoted(name: str) -> str:
    # Identifiers come from our own table contracts, never from user text; quoting keeps
    # reserved words such as "load" and "rank" usable.
    return '"' + name.replace('"', '""') + '"'


def sync_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: pd.DataFrame,
    key: list[str],
    *,
    owner: tuple[str, str] | None = None,
    stamp: tuple[str, object] | None = None,
) -> SyncCounts:
    """Make the rows of `table` owned by `owner` (column, value) equal to `rows`.

    `owner=None` means the caller owns the whole table. `stamp` (column, value) is written on
    inserted and updated rows only (e.g. the load id) and ignored when comparing.
    """
    columns = list(rows.columns)
    if stamp:
        columns = [c for c in columns if c != stamp[0]]
    compared = [c for c in columns if c not in key]
    t = _quoted(table)
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {t})").fetchall())
    con.register("_incoming_raw", pa.Table.from_pandas(rows[columns], preserve_index=False))
    # Cast to the table's types: pandas guesses types from values (an empty frame's columns
    # come out as floats), the table's contract does not guess.
    casts = ", ".join(f"CAST({_quoted(c)} AS {types[c]}) AS {_quoted(c)}" for c in columns)
    con.execute(f"CREATE OR REPLACE TEMP VIEW _incoming AS SELECT {casts} FROM _incoming_raw")
    try:
        match = " AND ".join(f"t.{_quoted(c)} = i.{_quoted(c)}" for c in key)
        owned, params = ("", [])
        if owner:
            owned, params = (f" AND t.{_quoted(owner[0])} = ?", [owner[1]])

        deleted = con.execute(
            f"DELETE FROM {t} AS t WHERE NOT EXISTS "
            f"(SELECT 1 FROM _incoming i WHERE {match}){owned}",
            params,
        ).fetchone()[0]

        updated = 0
        if compared or stamp:
            differs = " OR ".join(
                f"t.{_quoted(c)} IS DISTINCT FROM i.{_quoted(c)}" for c in compared
            )
            sets = [f"{_quoted(c)} = i.{_quoted(c)}" for c in compared]
            set_params: list[object] = []
            if stamp:
                sets.append(f"{_quoted(stamp[0])} = ?")
                set_params.append(stamp[1])
            if differs:
                updated = con.execute(
                    f"UPDATE {t} AS t SET {', '.join(sets)} FROM _incoming i "
                    f"WHERE {match} AND ({differs}){owned}",
                    set_params + params,
                ).fetchone()[0]

        insert_cols = columns + ([stamp[0]] if stamp else [])
        select_cols = [f"i.{_quoted(c)}" for c in columns] + (["?"] if stamp else [])
        inserted = con.execute(
            f"INSERT INTO {t} ({', '.join(map(_quoted, insert_cols))}) "
            f"SELECT {', '.join(select_cols)} FROM _incoming i "
            f"WHERE NOT EXISTS (SELECT 1 FROM {t} t WHERE {match})",
            [stamp[1]] if stamp else [],
        ).fetchone()[0]
    finally:
        # After a failed statement (a full disk, a broken constraint) the transaction is
        # aborted and refuses even these; its ROLLBACK drops the views (register() replaces
        # one left), and the error that aborted it is the one to report.
        with suppress(duckdb.TransactionException):
            con.execute("DROP VIEW _incoming")
            con.unregister("_incoming_raw")
    return SyncCounts(int(inserted), int(updated), int(deleted))
