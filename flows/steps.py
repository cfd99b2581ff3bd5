"""The refresh's steps, as plain functions: each takes what it needs and returns what it made.

flows/pipeline.py strings them together; the Prefect flow (flows/refresh.py) runs each as a
task of the same name, and `citybench check` runs the first five as a dry run. Every step
takes a `log` (a logging.Logger, or Prefect's run logger) for what it has to say.
"""

from __future__ import annotations

from datetime import UTC, datetime
from logging import Logger, LoggerAdapter
from typing import TYPE_CHECKING

import pandas as pd

from flows.sources.base import Conformed, Extracted, Registry, Source
from flows.transport import Transport
from flows.validate import validate_frames
from warehouse import integrity, quality, store
from warehouse.config import QualitySettings
from warehouse.connect import Connection
from warehouse.sync import SyncCounts
from warehouse.validation import Outcome

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
    store.write_source(con, source.meta.as_row(extracted.dataset_version, extracted.retrieved_at))
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


def flag_quality(con: Connection, thresholds: QualitySettings, *, log: Log) -> int:
    flags = quality.flag(con, datetime.now(UTC), thresholds)
    log.info("%d value(s) flagged for review (data-quality report)", flags)
    return flags


def score(con: Connection, *, log: Log) -> ScoreOutcome:
    # the composite engine (scipy.stats) loads here: a dry run that never scores starts ~0.7 s
    # sooner
    from flows.scoring import score_warehouse

    outcome = score_warehouse(con)
    log.info("scored %d cities (run %s%s)", outcome.cities, outcome.score_run_id,
             ", unchanged" if outcome.reused else "")
    return outcome


def check_integrity(con: Connection, *, log: Log) -> None:
    if problems := integrity.violations(con):
        raise IntegrityFailed("not published: " + "; ".join(problems))
