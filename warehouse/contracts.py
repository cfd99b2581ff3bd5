"""The warehouse tables' contracts in the context of the warehouse they are loaded into.

schemas.py says what a row of a table must look like on its own. A row must also refer to
what exists (a city of the registry, an indicator the warehouse defines, a network of the
source) and hold a value its unit allows: a city population above 0 and at most 50 million, a
share within [0, 100] or [0, 1], no negative count. Those checks need the warehouse, so they
are added here, per load, to copies of the table models; a row that fails them is rejected
with the rest, not left for the publication check to refuse the whole version.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
import pyarrow as arrow
import pyarrow.compute as compute

from warehouse import schemas
from warehouse.screen import row_wise
from warehouse.tables import LOADED


@dataclass(frozen=True)
class UnitRule:
    """Values an indicator may take, by its unit (and for populations, its domain)."""

    expected: str  # "value: <what is expected>", as validation reports it
    units: frozenset[str]
    low: float
    high: float
    low_inclusive: bool = True
    high_inclusive: bool = True
    whole: bool = False  # whole numbers only
    domain: str | None = None

    def indicators(self, indicators: pd.DataFrame) -> set[str]:
        applies = indicators["unit"].str.strip().str.casefold().isin(self.units)
        if self.domain is not None:
            applies &= indicators["domain"] == self.domain
        return set(indicators.loc[applies, "indicator_id"])

    def check(self, ids: set[str]) -> pa.Check:
        inclusive = {(True, True): "both", (False, True): "right", (True, False): "left",
                     (False, False): "neither"}[self.low_inclusive, self.high_inclusive]

        @row_wise
        def holds(frame: pd.DataFrame) -> pd.Series:
            value = frame["value"]
            fits = value.between(self.low, self.high, inclusive)
            if self.whole:
                fits &= value % 1 == 0
            return ~frame["indicator_id"].isin(ids) | fits

        return pa.Check(holds, error=self.expected)


_INF = float("inf")
UNIT_RULES = [
    # A population in the demography domain is a city's (or its area's); a country's lives in
    # another domain ('country context') and may well exceed a city's bound.
    UnitRule("value: a city population, above 0 and at most 50 million", frozenset({"persons"}),
             0, schemas.MAX_CITY_POPULATION, low_inclusive=False, domain="demography"),
    UnitRule("value: a share in %, from 0 to 100", frozenset({"%", "percent"}), 0, 100),
    UnitRule("value: a share, from 0 to 1", frozenset({"share", "fraction", "0-1"}), 0, 1),
    UnitRule("value: 0 or 1", frozenset({"0/1"}), 0, 1, whole=True),
    UnitRule(
        "value: a count, not negative",
        frozenset({"persons", "persons per km2", "km2", "seats", "nights", "bed places",
                   "us$", "current us$", "us$ ppp"}),
        0, _INF,
    ),
]


def _references(ids, what: str) -> pa.Check:
    # As an Arrow set, built once: pandas' isin on Arrow-backed text makes an Arrow scalar of
    # every id on every call (~1 s a load for the registry's 30,000 cities).
    known = arrow.array(pd.Index(list(ids), dtype=object).dropna().unique().astype(str),
                        arrow.string())

    @row_wise
    def refers(column: pd.Series) -> pd.Series:
        found = compute.is_in(arrow.array(column, from_pandas=True).cast(arrow.string()),
                              value_set=known)
        return pd.Series(found.fill_null(False).to_numpy(zero_copy_only=False),
                         index=column.index)

    return pa.Check(refers, error=what)


def contracts(
    indicators: pd.DataFrame, cities: pd.Index, networks: pd.Index, datasets: pd.Index
) -> dict[str, pa.DataFrameSchema]:
    """The contract of every table a load writes, for one load: each reference tables.py
    declares to a city, indicator, network or dataset must name one that exists.

    indicators: indicator_id, unit, domain of those defined (the warehouse's and the load's);
    cities: the registry's ids; networks, datasets: ids the load and the warehouse define.
    """
    known = {"city": cities, "indicator": pd.Index(indicators["indicator_id"]),
             "network": networks, "dataset": datasets}
    contracts = {}
    for name, table in LOADED.items():
        schema = table.model.to_schema()
        if name == "observation":
            rules = [rule.check(ids) for rule in UNIT_RULES if (ids := rule.indicators(indicators))]
            schema = _with_checks(schema, rules)
        checks = {ref.column: _references(known[ref.table], ref.what)
                  for ref in table.references if ref.table in known}
        contracts[name] = _with_references(schema, checks) if checks else schema
    return contracts


def _with_checks(schema: pa.DataFrameSchema, checks: list[pa.Check]) -> pa.DataFrameSchema:
    copy = schema.update_columns({})  # a copy: the model's own schema stays as it is
    copy.checks = [*schema.checks, *checks]
    return copy


def _with_references(
    schema: pa.DataFrameSchema, checks: dict[str, pa.Check]
) -> pa.DataFrameSchema:
    return schema.update_columns(
        {column: {"checks": [*schema.columns[column].checks, check]}
         for column, check in checks.items()}
    )
