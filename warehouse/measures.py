"""The network measures' way in and out of the staging warehouse: the links, memberships and
places they are computed from (all a refresh holds, whichever sources it loaded), and their
source, datasets, indicators and observations written like a source's
(flows/network_measures.py computes them)."""

from __future__ import annotations

import pandas as pd

from warehouse import store
from warehouse.connect import Connection
from warehouse.schemas import DatasetTable, IndicatorTable, ObservationTable
from warehouse.sync import SyncCounts

# The derived source that owns the measures.
SOURCE_ID = "citybench-networks"


def places(con: Connection) -> pd.DataFrame:
    """Every city's country and continent, by city id (for the reach of links)."""
    return con.execute("""
        SELECT c.city_id, c.country_iso2 AS country, co.continent
        FROM city c JOIN country co ON co.iso2 = c.country_iso2
    """).df().set_index("city_id")


def links(con: Connection, kind: str) -> pd.DataFrame:
    """Links of one kind, each pair once (the strongest weight any source gives it), and the
    latest period any source gives it."""
    return con.execute("""
        SELECT city_a, city_b, max(weight) AS weight, max(period) AS period FROM city_link
        WHERE kind = ? GROUP BY city_a, city_b ORDER BY city_a, city_b
    """, [kind]).df()


def link_inputs(con: Connection, kind: str) -> pd.DataFrame:
    """The sources and datasets that give links of one kind, with their rows and periods."""
    return con.execute("""
        SELECT source_id, dataset_id, count(*) AS rows, min(period) AS first_period,
               max(period) AS last_period
        FROM city_link WHERE kind = ? GROUP BY ALL ORDER BY source_id, dataset_id
    """, [kind]).df()


def memberships(con: Connection, kind: str) -> pd.DataFrame:
    """Memberships of organisations of one kind ('firm', 'city-network'): the network's id and
    name, the city, period, value and where the row came from."""
    return con.execute("""
        SELECT m.network_id, n.name AS network, m.city_id, m.period, m.value, m.source_id,
               m.dataset_id
        FROM membership m JOIN network n USING (network_id)
        WHERE n.kind = ?
        ORDER BY m.source_id, m.dataset_id, m.period, m.network_id, m.city_id
    """, [kind]).df()


def sources(con: Connection, source_ids: list[str]) -> pd.DataFrame:
    """The source rows (publisher, licence, attribution) of the given sources."""
    return con.execute("""
        SELECT source_id, publisher, licence, attribution, url FROM source
        WHERE list_contains(?, source_id) ORDER BY source_id
    """, [source_ids]).df()


def datasets(con: Connection) -> pd.DataFrame:
    """Every dataset's title and URL, for naming what a measure was computed from."""
    return con.execute(
        "SELECT source_id, dataset_id, title, url, last_update FROM dataset"
    ).df()


# Everything the measures are computed from (flows/network_measures.py reads no more): each
# table's rows, by the columns read.
_INPUTS = {
    "city": "city_id, country_iso2",
    "country": "iso2, continent",
    "city_link": "kind, city_a, city_b, weight, period, source_id, dataset_id",
    "membership": "network_id, city_id, period, value, source_id, dataset_id",
    "network": "network_id, name, kind",
    "dataset": "source_id, dataset_id, title, url, last_update",
    "source": "source_id, publisher, licence, attribution, url",
}


def inputs_digest(con: Connection) -> str:
    """A digest of the measures' inputs: per table, its rows and an order-free sum of their
    hashes. Equal digests: the same measures (a few ms, against seconds to compute them)."""
    # of datasets and sources, those of links and memberships: the measures name those only
    # (not their own rows, which the last computation wrote, nor another source's)
    inputs = ("WHERE source_id IN (SELECT source_id FROM city_link "
              "UNION SELECT source_id FROM membership)")
    parts = [f"SELECT '{table}', count(*), sum(hash({columns}) % 2305843009213693951::UBIGINT)"
             f" FROM {table} " + (inputs if table in ("dataset", "source") else "")
             for table, columns in _INPUTS.items()]  # our own SQL text
    rows = con.execute(" UNION ALL ".join(parts) + " ORDER BY 1").fetchall()
    return ";".join(f"{table}:{count}:{total}" for table, count, total in rows)


def write(con: Connection, source: pd.DataFrame, datasets: pd.DataFrame,
          indicators: pd.DataFrame, observations: pd.DataFrame, load_id: int) -> SyncCounts:
    """Make the derived source's rows equal to these (its own row, datasets, indicators and
    observations): a family whose input is gone loses its values. Each frame is checked by its
    table's contract first."""
    store.write_source(con, source)
    counts = [
        store.write_table(con, "dataset", DatasetTable.validate(datasets), SOURCE_ID, load_id),
        store.write_table(con, "indicator", IndicatorTable.validate(indicators), SOURCE_ID,
                          load_id),
        store.write_table(con, "observation", ObservationTable.validate(observations),
                          SOURCE_ID, load_id),
    ]
    return SyncCounts(*(sum(getattr(c, f) for c in counts)
                        for f in ("inserted", "updated", "deleted")))
