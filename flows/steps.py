"""The refresh's steps, as plain functions: each takes what it needs and returns what it made.

flows/pipeline.py strings them together; the Prefect flow (flows/refresh.py) runs each as a
task of the same name, and `citybench check` runs the first five as a dry run. Every step
takes a `log` (a logging.Logger, or Prefect's run logger) for what it has to say.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from logging import Logger, LoggerAdapter
from typing import TYPE_CHECKING

import pandas as pd

from flows import network_measures
from flows.code_hash import source_hash
from flows.sources.base import Conformed, Extracted, Registry, Source
from flows.transport import Transport
from flows.validate import validate_frames
from warehouse import integrity, measures, quality, store
from warehouse.config import QualitySettings
from warehouse.connect import Connection
from warehouse.sync import SyncCounts
from warehouse.validation import Outcome, no_rejects

if TYPE_CHECKING:
    from flows.scoring import ScoreOutcome

Log = Logger | LoggerAdapter


class IntegrityFailed(RuntimeError):
    """The next version broke a cross-table rule; it was not published."""


def extract(source: Source, transport: Transport, *, log: Log) -> Extracted:
    extracted = source.extract(transport)
    size = sum(len(b) for b in extracted.files.values())
    log.info("%s: extracted %d file(s), %.1f MB (%s)", source.meta.source_id,
             len(extracted.files), size / 1e6, extracted.dataset_version)
    return extracted


def parse(source: Source, extracted: Extracted, *, log: Log) -> dict[str, pd.DataFrame]:
    return source.parse(extracted)


def validate(stage: str, frames: dict[str, pd.DataFrame], contracts: dict,
             identify: dict[str, list[str]], limit: float, *, log: Log) -> dict[str, Outcome]:
    return validate_frames(stage, frames, contracts, identify, limit)


def conform(source: Source, raw: dict[str, pd.DataFrame], registry: Registry, *,
            log: Log) -> Conformed:
    conformed = source.conform(raw, registry)
    for note in conformed.notes:
        log.info("%s: %s", source.meta.source_id, note)
    return conformed


def load(con: Connection, source: Source, extracted: Extracted, canonical: dict[str, Outcome],
         load_id: int, *, log: Log) -> SyncCounts:
    """Write the source's valid canonical rows: only what changed, stamped with the load."""
    source_id = source.meta.source_id
    if "city" in canonical:
        for replaced in store.take_over_registry(con, source_id):
            log.info("%s replaces %s as the city registry", source_id, replaced)
    # retrieved_at moves only when the data did (mark_retrieved); the contract leaves it out
    store.write_source(con, source.meta.as_row(extracted))
    inserted = updated = deleted = 0
    for table, outcome in canonical.items():
        got = store.write_table(con, table, outcome.valid, source_id, load_id)
        log.info("%s: %s +%d ~%d -%d", source_id, table, got.inserted, got.updated, got.deleted)
        inserted, updated, deleted = (inserted + got.inserted, updated + got.updated,
                                      deleted + got.deleted)
    if "city" in canonical:
        for table, dropped in store.drop_facts_of_vanished_cities(con).items():
            log.info("%d %s rows of cities no longer in the registry dropped", dropped, table)
    counts = SyncCounts(inserted, updated, deleted)
    store.mark_retrieved(con, source_id, extracted.retrieved_at, counts.changed > 0)
    return counts


@dataclass(frozen=True)
class MeasureCounts:
    """What `measure_networks` stored: values by family, and the load that recorded it."""

    load_id: int | None
    by_family: dict[str, int]
    changed: int
    kept: int | None = None  # not computed again, its inputs unchanged: the values held

    @property
    def values(self) -> int:
        return sum(self.by_family.values())

    def line(self) -> str:
        if self.kept is not None:
            return (f"{measures.SOURCE_ID}: unchanged, kept ({self.kept:,} network measure "
                    "values): links, memberships and places as at their last computation")
        if self.load_id is None:
            return "network measures: none (no links or memberships held)"
        families = ", ".join(f"{family} {n:,}" for family, n in self.by_family.items())
        return (f"{measures.SOURCE_ID}: {self.values:,} network measure values "
                f"stored ({families or 'none'}), {self.changed:,} changed")


@functools.cache
def _measures_code() -> str:
    """The measures' code: a new way of computing them computes them again."""
    import indicators.network

    return source_hash(indicators.network, network_measures)


def measure_networks(con: Connection, *, log: Log, flow_run_id: str | None = None
                     ) -> MeasureCounts:
    """Compute the network measures from every link and membership the staging warehouse
    holds (whichever sources this refresh loaded) and store them as observations of the
    derived source, recorded in `load` like a source's -- unless their inputs and code are
    those of the last computation (its load's input_sha256), as a source unchanged is kept."""
    source_id = measures.SOURCE_ID
    started = datetime.now(UTC)
    inputs = hashlib.sha256(
        f"{_measures_code()}\0{measures.inputs_digest(con)}".encode()).hexdigest()
    if inputs == store.unchanged_input(con, source_id):
        held = store.facts_held(con, source_id)
        log.info("network measures: links, memberships and places as at their last "
                 "computation: kept (%s values)", f"{held:,}")
        return MeasureCounts(None, {}, 0, kept=held)
    measured = network_measures.measure(con)
    if not measured.families and not store.facts_held(con, source_id):
        log.info("network measures: no links or memberships held, none computed")
        return MeasureCounts(None, {}, 0)
    load_id = store.next_load_id(con)
    with store.transaction(con):
        counts = measures.write(con, measured.source, measured.datasets, measured.indicators,
                                measured.observations, load_id)
        store.mark_retrieved(con, source_id, started, counts.changed > 0)
    result = MeasureCounts(load_id, measured.values_by_family(), counts.changed)
    store.record_load(con, store.LoadRecord(
        load_id=load_id, flow_run_id=flow_run_id, source_id=source_id, started_at=started,
        finished_at=datetime.now(UTC), status="success", rows_read=result.values,
        rows_loaded=store.facts_held(con, source_id), rows_changed=counts.changed,
        rows_rejected=0, error=None, input_sha256=inputs), no_rejects())
    log.info("%s", result.line())
    return result


def flag_quality(con: Connection, thresholds: QualitySettings, *, log: Log) -> int:
    flags = quality.flag(con, datetime.now(UTC), thresholds)
    log.info("%d value(s) flagged for review (data-quality report)", flags)
    return flags


def score(con: Connection, *, log: Log) -> list[ScoreOutcome]:
    """One score run per packaged framework, the headline first."""
    # the composite engine (scipy.stats) loads here: a dry run that never scores starts ~0.7 s
    # sooner
    from flows.scoring import score_all

    outcomes = score_all(con)
    for outcome in outcomes:
        log.info("scored %s", outcome.line())
        for note in outcome.notes:
            log.info("  %s: %s", outcome.framework_id, note)
    return outcomes


def check_integrity(con: Connection, *, log: Log) -> None:
    if problems := integrity.violations(con):
        raise IntegrityFailed("not published: " + "; ".join(problems))
