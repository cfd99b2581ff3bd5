"""What the warehouse knows of each table a refresh writes, in one place.

The columns and their types are the migrations' (migrations/); the row contract is the table's
pandera model (schemas.py). Here, beside them: the table's key, who owns its rows, whether a
row records the load that last changed it, and what its columns refer to. From these follow
how a source's rows are synchronised (sync.py), what a load's contract adds (contracts.py),
the cross-table checks before publishing (integrity.py), and what goes with a city that leaves
the registry (store.py). `tests/test_tables.py` checks them against the migrated schema.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.pandas as pa

from warehouse import schemas


@dataclass(frozen=True)
class Reference:
    """`column` holds an id of `table` (with `also`: together with the columns of that name)."""

    column: str
    table: str
    what: str  # the contract's words for a valid value: "a city of the registry"
    to: str | None = None  # the id column over there, when its name differs
    also: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        return self.to or self.column


@dataclass(frozen=True)
class Table:
    name: str
    model: type[pa.DataFrameModel]
    key: tuple[str, ...]
    plural: str  # how integrity reports name its rows: "3 observations of unknown cities"
    # "source_id": each source owns its own rows and a load replaces exactly those;
    # None: the rows belong to the registry as a whole
    owner: str | None = "source_id"
    fact: bool = False  # a row records the load that last changed it (load_id)
    references: tuple[Reference, ...] = ()


_CITY = "a city of the registry"
_DATASET = "a dataset the source lists"

# Every table a source's load writes, in load order: a table before the ones that refer to it.
LOADED = {
    table.name: table
    for table in (
        Table("country", schemas.CountryTable, ("iso2",), "countries", owner=None),
        Table("city", schemas.CityTable, ("city_id",), "cities", owner=None, references=(
            Reference("country_iso2", "country", "a country of the registry", to="iso2"),)),
        Table("city_alias", schemas.CityAliasTable, ("scheme", "alias", "city_id"), "aliases",
              references=(Reference("city_id", "city", _CITY),)),
        Table("dataset", schemas.DatasetTable, ("source_id", "dataset_id"), "datasets"),
        Table("indicator", schemas.IndicatorTable, ("indicator_id",), "indicators"),
        Table("observation", schemas.ObservationTable,
              ("city_id", "indicator_id", "period", "source_id"), "observations", fact=True,
              references=(
                  Reference("city_id", "city", _CITY),
                  Reference("indicator_id", "indicator", "an indicator the warehouse defines"),
                  Reference("source_id", "source", "a source of the warehouse"),
                  Reference("dataset_id", "dataset", _DATASET, also=("source_id",)),
              )),
        Table("network", schemas.NetworkTable, ("network_id",), "networks"),
        Table("membership", schemas.MembershipTable,
              ("network_id", "city_id", "period", "source_id"), "memberships", fact=True,
              references=(
                  Reference("city_id", "city", _CITY),
                  Reference("network_id", "network", "a network the warehouse defines"),
                  Reference("dataset_id", "dataset", _DATASET, also=("source_id",)),
              )),
        Table("city_link", schemas.CityLinkTable,
              ("kind", "city_a", "city_b", "period", "source_id"), "links", fact=True,
              references=(
                  Reference("city_a", "city", _CITY, to="city_id"),
                  Reference("city_b", "city", _CITY, to="city_id"),
                  Reference("dataset_id", "dataset", _DATASET, also=("source_id",)),
              )),
        # not a fact: no measurement of a city, so no count of values held (load, status)
        Table("practice", schemas.PracticeTable, ("city_id", "title", "year", "source_id"),
              "practices", references=(
                  Reference("city_id", "city", _CITY),
                  Reference("dataset_id", "dataset", _DATASET, also=("source_id",)),
              )),
    )
}

SOURCE = Table("source", schemas.SourceTable, ("source_id",), "sources")
SCORE_RUN = Table("score_run", schemas.ScoreRunTable, ("score_run_id",), "score runs",
                  owner="score_run_id")
SCORE = Table("score", schemas.ScoreTable, ("score_run_id", "city_id", "node_id"), "scores",
              owner="score_run_id", references=(Reference("city_id", "city", _CITY),))

WRITTEN = {SOURCE.name: SOURCE, **LOADED, SCORE_RUN.name: SCORE_RUN, SCORE.name: SCORE}
FACTS = tuple(name for name, table in LOADED.items() if table.fact)
