"""One source's way into the staging warehouse: extract, parse, validate, conform, validate, load.

Each step is a Prefect task, so a run's history shows where a source failed and how long each
step took. The whole load of a source is one transaction: a source that fails halfway leaves no
rows behind, and a row in `load` says why it failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.sources.base import Conformed, Extracted, Registry, Source
from flows.transport import Transport
from flows.validate import (
    KEYS,
    SourceFailed,
    canonical_contracts,
    canonical_frames,
    rejections,
    validate_frames,
)
from warehouse.schemas import SourceTable
from warehouse.sync import SyncCounts, sync_table
from warehouse.validation import REJECTED_COLUMNS, Outcome, no_rejects


@dataclass(frozen=True)
class LoadReport:
    source_id: str
    load_id: int
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_changed: int = 0
    rows_rejected: int = 0
    error: str | None = None

    def line(self) -> str:
        if self.status != "success":
            return f"{self.source_id}: FAILED - {self.error}"
        return (
            f"{self.source_id}: {self.rows_loaded:,} rows held, {self.rows_changed:,} rows "
            f"changed, {self.rows_rejected:,} rejected"
        )


# The registry tables belong to the registry source as a whole; the others row by row.
_OWNED_BY_SOURCE = {
    "city_alias", "dataset", "indicator", "observation", "network", "membership", "city_link"
}
# The facts a source holds, stamped with the load that last changed them.
_FACTS = ("observation", "membership", "city_link")


@task(cache_policy=NO_CACHE)
def extract(source: Source, transport: Transport) -> Extracted:
    extracted = source.extract(transport)
    size = sum(len(b) for b in extracted.files.values())
    get_run_logger().info(
        "%s: extracted %d file(s), %.1f MB (%s)",
        source.meta.source_id,
        len(extracted.files),
        size / 1e6,
        extracted.dataset_version,
    )
    return extracted


@task(cache_policy=NO_CACHE)
def parse(source: Source, extracted: Extracted) -> dict[str, pd.DataFrame]:
    return source.parse(extracted)


@task(cache_policy=NO_CACHE)
def validate(
    source_id: str, stage: str, frames: dict[str, pd.DataFrame], contracts: dict, identify=None
) -> dict[str, Outcome]:
    return validate_frames(source_id, stage, frames, contracts, identify)


@task(cache_policy=NO_CACHE)
def conform(source: Source, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
    conformed = source.conform(raw, registry)
    for note in conformed.notes:
        get_run_logger().info("%s: %s", source.meta.source_id, note)
    return conformed


@task(cache_policy=NO_CACHE)
def load(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    extracted: Extracted,
    canonical: dict[str, Outcome],
    load_id: int,
) -> SyncCounts:
    source_id = source.meta.source_id
    counts = SyncCounts(0, 0, 0)
    if "city" in canonical:
        _take_over_registry(con, source_id)
    # retrieved_at says when the data held now was fetched: it moves only when the data did,
    # below; the contract's filter leaves it out here.
    source_row = SourceTable.validate(
        source.meta.as_row(extracted.dataset_version, extracted.retrieved_at)
    )
    sync_table(
        con,
        "source",
        source_row,
        ["source_id"],
        owner=("source_id", source_id),
    )
    for table, key in KEYS.items():
        if table not in canonical:
            continue
        owner = ("source_id", source_id) if table in _OWNED_BY_SOURCE else None
        stamp = ("load_id", load_id) if table in _FACTS else None
        frame = canonical[table].valid
        if stamp:
            frame = frame.assign(load_id=load_id)
        got = sync_table(con, table, frame, key, owner=owner, stamp=stamp)
        get_run_logger().info(
            "%s: %s +%d ~%d -%d", source_id, table, got.inserted, got.updated, got.deleted
        )
        counts = SyncCounts(
            counts.inserted + got.inserted,
            counts.updated + got.updated,
            counts.deleted + got.deleted,
        )
    if "city" in canonical:
        _drop_facts_of_vanished_cities(con)
    for table in ("source", "dataset"):
        con.execute(
            f"UPDATE {table} SET retrieved_at = ? "  # table names are ours, not user text
            "WHERE source_id = ? AND (retrieved_at IS NULL OR ?)",
            [extracted.retrieved_at, source_id, counts.changed > 0],
        )
    return counts


def _take_over_registry(con: duckdb.DuckDBPyConnection, source_id: str) -> None:
    """One registry per warehouse: the GeoNames package and the GeoNames dump both define the
    cities and the same indicators, so loading one removes what the other held. Registries are
    the sources that hold GeoNames ids (city_alias scheme 'geonames')."""
    others = con.execute(
        "SELECT DISTINCT source_id FROM city_alias WHERE scheme = 'geonames' AND source_id <> ?",
        [source_id],
    ).fetchall()
    for (other,) in others:
        for table in _OWNED_BY_SOURCE:  # names from our own list, never user text
            con.execute(f"DELETE FROM {table} WHERE source_id = ?", [other])
        get_run_logger().info("%s replaces %s as the city registry", source_id, other)


# Every column that names a city, by table.
_CITY_REFERENCES = [
    ("city_alias", "city_id"),
    ("observation", "city_id"),
    ("membership", "city_id"),
    ("city_link", "city_a"),
    ("city_link", "city_b"),
    ("score", "city_id"),
]


def _drop_facts_of_vanished_cities(con: duckdb.DuckDBPyConnection) -> None:
    """A city the new registry no longer has takes its facts with it; other sources tie their
    records to the new registry on their next load."""
    for table, column in _CITY_REFERENCES:
        dropped = con.execute(
            f"DELETE FROM {table} WHERE {column} NOT IN (SELECT city_id FROM city)"
        ).fetchone()[0]
        if dropped:
            get_run_logger().info("%d %s rows of cities no longer in the registry dropped",
                                  dropped, table)


def facts_held(con: duckdb.DuckDBPyConnection, source_id: str) -> int:
    """Observations, memberships and links the source holds in the warehouse."""
    return sum(
        con.execute(f"SELECT count(*) FROM {table} WHERE source_id = ?", [source_id]).fetchone()[0]
        for table in _FACTS
    )


def _unresolved(conformed: Conformed) -> pd.DataFrame:
    """Records no city could be found for: reported with the reason, never guessed."""
    frame = conformed.unresolved
    if frame is None or frame.empty:
        return no_rejects()
    return pd.DataFrame(
        {
            "row_number": None,
            "column_name": "name",
            "check_name": "resolve: " + frame["status"],
            "value": frame["key"].astype(str) + " " + frame["name"].astype(str),
            "reason": frame["reason"],
        }
    )


def load_source(
    con: duckdb.DuckDBPyConnection, source: Source, transport: Transport, flow_run_id: str | None
) -> LoadReport:
    """Run one source end to end inside a transaction and record the outcome in `load`."""
    source_id = source.meta.source_id
    load_id = con.execute('SELECT coalesce(max(load_id), 0) + 1 FROM "load"').fetchone()[0]
    started = datetime.now(UTC)
    rejected = no_rejects()
    con.execute("BEGIN TRANSACTION")
    try:
        extracted = extract(source, transport)
        raw = validate(source_id, "raw", parse(source, extracted), source.raw_models,
                       getattr(source, "raw_identify", None))
        registry = Registry.read(con)
        conformed = conform(source, {name: o.valid for name, o in raw.items()}, registry)
        networks = con.execute("SELECT network_id FROM network").df()["network_id"]
        canonical = validate(
            source_id,
            "canonical",
            canonical_frames(conformed),
            canonical_contracts(registry, conformed, networks),
            KEYS,
        )
        counts = load(con, source, extracted, canonical, load_id)
        con.execute("COMMIT")
        unresolved = _unresolved(conformed)
        rejected = pd.concat(
            [rejections(raw, "raw"), rejections(canonical, "canonical"), unresolved]
        )
        report = LoadReport(
            source_id,
            load_id,
            "success",
            rows_read=sum(o.rows_read for o in raw.values()),
            rows_loaded=facts_held(con, source_id),
            rows_changed=counts.changed,
            rows_rejected=sum(o.rejected_rows for o in (*raw.values(), *canonical.values()))
            + len(unresolved),
        )
    except Exception as error:  # a source's failure must not stop the others
        con.execute("ROLLBACK")
        # the rows that made a source fail its policy are listed, though none is loaded
        rejected = error.rejected if isinstance(error, SourceFailed) else no_rejects()
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        get_run_logger().error("%s: load failed: %s", source_id, reason)
        report = LoadReport(source_id, load_id, "failed", error=reason,
                            rows_rejected=rejected["row_number"].nunique())
    _record(con, report, flow_run_id, started, rejected)
    return report


def _record(con, report: LoadReport, flow_run_id, started, rejected: pd.DataFrame) -> None:
    con.execute(
        'INSERT INTO "load" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
            report.load_id,
            flow_run_id,
            report.source_id,
            started,
            datetime.now(UTC),
            report.status,
            report.rows_read,
            report.rows_loaded,
            report.rows_changed,
            report.rows_rejected,
            report.error,
        ],
    )
    if not rejected.empty:
        rows = rejected.assign(load_id=report.load_id, source_id=report.source_id)
        con.register("_rejected", rows[["load_id", "source_id", *REJECTED_COLUMNS]])
        con.execute("INSERT INTO rejected SELECT * FROM _rejected")
        con.unregister("_rejected")
