"""A source's frames against their contracts, under the source's rejection policy.

The steps the refresh runs as Prefect tasks (flows/loading.py) and `citybench check` runs on
a user's file, without Prefect: one set of rules for both.
"""

from __future__ import annotations

import pandas as pd

from flows.sources.base import Conformed, Registry
from warehouse.contracts import contracts
from warehouse.location import max_rejected_share
from warehouse.validation import Outcome, no_rejects, split_valid

# The canonical tables a source may write, each with its key, in load order; a rejected row
# is named by its key.
KEYS = {
    "country": ["iso2"],
    "city": ["city_id"],
    "city_alias": ["scheme", "alias", "city_id"],
    "dataset": ["source_id", "dataset_id"],
    "indicator": ["indicator_id"],
    "observation": ["city_id", "indicator_id", "period", "source_id"],
    "network": ["network_id"],
    "membership": ["network_id", "city_id", "period", "source_id"],
    "city_link": ["kind", "city_a", "city_b", "period", "source_id"],
}


class SourceFailed(RuntimeError):
    """A source could not be loaded; the message is the one-line reason users see, and
    `rejected` the rows that made it fail its policy, if that was the reason."""

    def __init__(self, message: str, rejected: pd.DataFrame | None = None):
        super().__init__(message)
        self.rejected = no_rejects() if rejected is None else rejected


def validate_frames(
    source_id: str,
    stage: str,
    frames: dict[str, pd.DataFrame],
    contracts: dict,
    identify: dict[str, list[str]] | None = None,
) -> dict[str, Outcome]:
    """Validate every frame against its contract; refuse the source when more of a frame is
    broken than its policy ([sources.<id>] max_rejected_share) allows."""
    limit = max_rejected_share(source_id)
    outcomes = {
        name: split_valid(frames[name], contract, (identify or {}).get(name, ()))
        for name, contract in contracts.items()
    }
    for name, outcome in outcomes.items():
        if outcome.rejected_share > limit:
            first = outcome.rejected.iloc[0]
            raise SourceFailed(
                f"{outcome.rejected_rows:,} of {outcome.rows_read:,} {name} rows rejected "
                f"(more than {limit:.0%}), e.g. {first['reason']}",
                rejections(outcomes, stage),
            )
    return outcomes


def rejections(outcomes: dict[str, Outcome], stage: str) -> pd.DataFrame:
    """The rejected rows of a stage's frames, each check named with its stage and frame."""
    frames = [
        o.rejected.assign(check_name=stage + "/" + name + ": " + o.rejected["check_name"])
        for name, o in outcomes.items()
        if not o.rejected.empty
    ]
    return pd.concat(frames, ignore_index=True) if frames else no_rejects()


def canonical_frames(conformed: Conformed) -> dict[str, pd.DataFrame]:
    return {t: getattr(conformed, t) for t in KEYS if getattr(conformed, t) is not None}


def canonical_contracts(
    registry: Registry, conformed: Conformed, networks: pd.Series
) -> dict:
    """The contracts of the tables a load writes: what its rows refer to is what the
    warehouse (the registry, `networks`) and the load itself define."""
    indicators = registry.indicators
    if conformed.indicator is not None:
        indicators = pd.concat([indicators, conformed.indicator], ignore_index=True)
    # a registry load brings its own cities
    cities = registry.cities if conformed.city is None else conformed.city
    if conformed.network is not None:
        networks = pd.concat([networks, conformed.network["network_id"]])
    every = contracts(
        indicators[["indicator_id", "unit", "domain"]],
        pd.Index(cities["city_id"]),
        pd.Index(networks),
        pd.Index(conformed.dataset["dataset_id"]),
    )
    return {table: every[table] for table in canonical_frames(conformed)}
