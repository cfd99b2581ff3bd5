"""Cross-table checks run on the staging file before it may be published: every reference
that tables.py declares must lead to a row."""

from __future__ import annotations

from itertools import groupby

from warehouse.connect import Connection
from warehouse.tables import WRITTEN, Reference, Table


def _leads_nowhere(ref: Reference) -> str:
    pairs = [(ref.column, ref.target), *((c, c) for c in ref.also)]
    match = " AND ".join(f"r.{theirs} = t.{ours}" for ours, theirs in pairs)
    return f"NOT EXISTS (SELECT 1 FROM {ref.table} r WHERE {match})"


def _orphans(table: Table, refs: list[Reference]) -> str:
    """Count the rows with a reference to the table that leads nowhere (a link with two
    unknown cities counts once). Names come from tables.py, never from user text."""
    return f"SELECT count(*) FROM {table.name} t WHERE " + " OR ".join(map(_leads_nowhere, refs))


def violations(con: Connection) -> list[str]:
    """One line per broken rule ("3 observations of unknown cities"), empty when the warehouse
    is consistent."""
    found = []
    for table in WRITTEN.values():
        for target, refs in groupby(table.references, key=lambda ref: ref.table):
            if count := con.execute(_orphans(table, list(refs))).fetchone()[0]:
                found.append(f"{count} {table.plural} of unknown {WRITTEN[target].plural}")
    return found
