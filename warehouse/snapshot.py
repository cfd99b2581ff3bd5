"""The rows a source holds, as the starter snapshot packages them (flows/snapshot.py)."""

from __future__ import annotations

import pyarrow as arrow

from warehouse.connect import Connection
from warehouse.tables import LOADED

# Stamps of a particular warehouse's loads, not data: a snapshot leaves them out, and the load
# that reads it sets them again.
_STAMPS = ("load_id", "retrieved_at")


def rows_of(con: Connection, source_id: str) -> dict[str, arrow.Table]:
    """Each loaded table's rows of the source, in key order, without load stamps; the registry
    tables (countries, cities) too when the source is the warehouse's registry."""
    registry = con.execute(
        "SELECT count(*) > 0 FROM city_alias WHERE scheme = 'geonames' AND source_id = ?",
        [source_id]).fetchall()[0][0]
    held = {}
    for name, table in LOADED.items():
        if table.owner is None and not registry:
            continue
        # table and column names come from warehouse/tables.py, never from a user
        where, params = ("", []) if table.owner is None else (f"WHERE {table.owner} = ?",
                                                                [source_id])
        rows = con.sql(f"SELECT * FROM {name} {where} ORDER BY {', '.join(table.key)}",
                       params=params).to_arrow_table()
        rows = rows.drop_columns([c for c in _STAMPS if c in rows.column_names])
        if rows.num_rows:
            held[name] = rows
    return held
