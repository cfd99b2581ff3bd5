"""A source's frames against their contracts, under the source's rejection policy: the rules
of the validate step, for the refresh and `citybench check` alike."""

from __future__ import annotations

import pandas as pd

from flows.sources.base import Conformed, Registry, Source
from warehouse.config import DEFAULT_MAX_UNRESOLVED_SHARE
from warehouse.contracts import contracts
from warehouse.tables import LOADED
from warehouse.validation import Outcome, no_rejects, split_valid

# A rejected canonical row is named by its table's key.
KEYS = {name: list(table.key) for name, table in LOADED.items()}


class SourceFailed(RuntimeError):
    """A source could not be loaded; the message is the one-line reason users see, and
    `rejected` the rows that made it fail its policy, if that was the reason."""

    def __init__(self, message: str, rejected: pd.DataFrame | None = None):
        super().__init__(message)
        self.rejected = no_rejects() if rejected is None else rejected


def validate_frames(
    stage: str,
    frames: dict[str, pd.DataFrame],
    contracts: dict,
    identify: dict[str, list[str]],
    limit: float,
) -> dict[str, Outcome]:
    """Validate every frame against its contract; refuse the source when more of a frame is
    broken than its policy (`limit`, [sources.<id>] max_rejected_share) allows."""
    outcomes = {
        name: split_valid(frames[name], contract, identify.get(name, ()))
        for name, contract in contracts.items()
    }
    if breach := policy_breach(outcomes, limit):
        raise SourceFailed(breach, rejections(outcomes, stage))
    return outcomes


def policy_breach(outcomes: dict[str, Outcome], limit: float) -> str | None:
    """Why the source must load nothing, when more of a frame was rejected than `limit`."""
    for name, outcome in outcomes.items():
        if outcome.rejected_share > limit:
            first = outcome.rejected.iloc[0]
            return (f"{outcome.rejected_rows:,} of {outcome.rows_read:,} {name} rows rejected "
                    f"(more than {limit:.0%}), e.g. {first['reason']}")
    return None


# Statuses of conformed.unresolved that found the city but not a usable value: rejected rows,
# not unresolved ones.
VALUE_PROBLEMS = frozenset({"no date", "unknown unit"})


def unresolved_limit(source: Source) -> float:
    """The share of its records a source may leave without a city: [sources.<id>]
    max_unresolved_share, else the share its publisher's table states (publishers.toml, with
    the reason), else DEFAULT_MAX_UNRESOLVED_SHARE."""
    for stated in (source.settings.max_unresolved_share, source.meta.max_unresolved_share):
        if stated is not None:
            return stated
    return DEFAULT_MAX_UNRESOLVED_SHARE


def unresolved_text(unresolved: int, records: int, limit: float | None) -> str:
    share = unresolved / records if records else 0.0
    allowed = "" if limit is None else f", {limit:.0%} allowed"
    return (f"{unresolved:,} of {records:,} records not tied to a city "
            f"({share:.1%} unresolved{allowed})")


def unresolved_breach(unresolved: int, records: int, limit: float) -> str | None:
    """Why the source must load nothing, when more of its records found no city than `limit`:
    the rows it would load would stand for too few of the places it lists."""
    if records and unresolved / records > limit:
        return (unresolved_text(unresolved, records, limit) + ": more than its limit "
                "([sources.<id>] max_unresolved_share); nothing loaded")
    return None


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
