"""The refresh without Prefect: the steps of flows/steps.py put together.

`refresh_version` builds and publishes the next version of a warehouse; `load_source` runs one
source into it inside a transaction; `stage_source` runs a source up to the rows it would
load, which is all `citybench check` does. Each takes the steps to run (`Steps`): plain
(`PLAIN`, for tests and the dry run) or wrapped as Prefect tasks (flows/refresh.py), so the
two run the same code.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd

from flows import steps
from flows.sources.base import Conformed, Extracted, Source
from flows.steps import Log
from flows.transport import HostLimit, HttpTransport, MirrorTransport, Transport, is_url
from flows.validate import (
    KEYS,
    VALUE_PROBLEMS,
    SourceFailed,
    canonical_contracts,
    canonical_frames,
    rejections,
    unresolved_breach,
    unresolved_limit,
    unresolved_text,
)
from warehouse import lookup, quality, store
from warehouse.config import Config
from warehouse.connect import Connection, checkpoint, open_read_write
from warehouse.migrate import migrate
from warehouse.publish import lost_staging, next_version, record_publication
from warehouse.redact import redact_text
from warehouse.registry import Registry, read_registry
from warehouse.validation import Outcome, no_rejects

if TYPE_CHECKING:
    from flows.scoring import ScoreOutcome

# A new citybench may parse the same files otherwise: its loads are not "unchanged".
CODE_VERSION = importlib.metadata.version("citybench")
# Publishers' stated limits, by host: OECD allows about 60 downloads an hour.
HOST_LIMITS = {"sdmx.oecd.org": HostLimit(requests=60, per_seconds=3600)}


class Steps(NamedTuple):
    extract: Callable
    parse: Callable
    validate: Callable
    conform: Callable
    load: Callable
    measure_networks: Callable
    flag_quality: Callable
    score: Callable
    check_integrity: Callable


PLAIN = Steps(steps.extract, steps.parse, steps.validate, steps.conform, steps.load,
              steps.measure_networks, steps.flag_quality, steps.score, steps.check_integrity)


@dataclass(frozen=True)
class LoadReport:
    """A load's outcome. `rows_loaded` is the source's facts held after it (observations,
    memberships, links: what `citybench status` and the Sources page count), `held` the same by
    table; `rows_changed` the rows it wrote in every table (inserted + updated + deleted, the
    cities, aliases and datasets of a registry too); `rows_rejected` the rows a contract
    rejected plus the records no city was found for (`records_unresolved`, of
    `records_to_resolve`, judged against `unresolved_limit`)."""

    source_id: str
    load_id: int
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_changed: int = 0
    rows_rejected: int = 0
    error: str | None = None
    held: dict[str, int] = field(default_factory=dict)
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    records_unresolved: int | None = None
    records_to_resolve: int | None = None
    unresolved_limit: float | None = None
    unchanged: bool = False  # its files were those of its last load: not loaded again

    def line(self) -> str:
        if self.status != "success":
            return f"{self.source_id}: FAILED - {self.error}"
        if self.unchanged:
            return (f"{self.source_id}: unchanged, kept ({self.rows_loaded:,} held): its files "
                    "are those of its last load")
        kinds = ", ".join(f"{n:,} {HELD_AS.get(table, table)}"
                          for table, n in self.held.items() if n) or "nothing"
        line = (f"{self.source_id}: {self.rows_loaded:,} held after this load ({kinds}); "
                f"{self.rows_changed:,} rows written in all its tables ({self.rows_inserted:,} "
                f"inserted, {self.rows_updated:,} updated, {self.rows_deleted:,} deleted); "
                f"{self.rows_rejected - (self.records_unresolved or 0):,} rows rejected "
                "(by the contracts, or a value unusable)")
        if self.records_to_resolve:
            line += "; " + unresolved_text(self.records_unresolved or 0,
                                           self.records_to_resolve, self.unresolved_limit)
        return line


# How a fact table's rows are called in the summary.
HELD_AS = {"observation": "observations", "membership": "memberships", "city_link": "links"}


@dataclass(frozen=True)
class RefreshSummary:
    db: str
    version: int
    loads: list[LoadReport]
    scores: list[ScoreOutcome]  # one per packaged framework, the headline first
    report: quality.Report
    measures: steps.MeasureCounts | None = None

    @property
    def score(self) -> ScoreOutcome:
        """The headline framework's run."""
        return self.scores[0]

    @property
    def failed(self) -> list[LoadReport]:
        return [r for r in self.loads if r.status != "success"]

    def failure(self) -> str:
        """The sources that failed, in the words of the command's last line and of the
        message of the run's Failed state in Prefect."""
        names = ", ".join(r.source_id for r in self.failed)
        return f"{len(self.failed)} source(s) failed ({names}); the others were published"

    def lines(self) -> list[str]:
        return [
            f"published version {self.version} of {self.db}",
            *(f"  {report.line()}" for report in self.loads),
            *([f"  {self.measures.line()}"] if self.measures is not None else []),
            *(f"  scores: {outcome.line()}" for outcome in self.scores),
        ]


@dataclass
class Staged:
    """A source's way to the warehouse so far: the rows it would load, and the rows it would
    not. `canonical` is None when there was no registry to resolve against."""

    extracted: Extracted
    raw: dict[str, Outcome]
    conformed: Conformed | None = None
    canonical: dict[str, Outcome] | None = None
    notes: list[str] = field(default_factory=list)

    def invalid(self) -> pd.DataFrame:
        """The rows the contracts rejected, with the check and the reason."""
        frames = [rejections(self.raw, "raw")]
        if self.canonical is not None:
            frames.append(rejections(self.canonical, "canonical"))
        return pd.concat(frames, ignore_index=True)

    def rejected(self) -> pd.DataFrame:
        """Every row left out: rejected by a contract, or not resolved to a city."""
        if self.conformed is None:
            return self.invalid()
        return pd.concat([self.invalid(), unresolved(self.conformed)], ignore_index=True)

    @property
    def rows_rejected(self) -> int:
        outcomes = [*self.raw.values(), *(self.canonical or {}).values()]
        unmatched = self.conformed.unresolved if self.conformed is not None else None
        return (sum(o.rejected_rows for o in outcomes)
                + (0 if unmatched is None else len(unmatched)))

    @property
    def records_unresolved(self) -> int:
        """Records no city was found for; not those whose city was found but whose value
        could not be used (a population with no date), which are rejected rows all the same."""
        unmatched = self.conformed.unresolved if self.conformed is not None else None
        if unmatched is None:
            return 0
        return int((~unmatched["status"].isin(VALUE_PROBLEMS)).sum())

    @property
    def records_to_resolve(self) -> int:
        """The records the source tried to tie to a city: as its conform counts them, else the
        rows of its largest raw frame (a file's lines, one record each)."""
        if self.conformed is not None and self.conformed.records is not None:
            return self.conformed.records
        return max((o.rows_read for o in self.raw.values()), default=0)


def unresolved(conformed: Conformed) -> pd.DataFrame:
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


def stage_source(con: Connection | None, source: Source, transport: Transport, *,
                 log: Log, run: Steps = PLAIN, registry: Registry | None = None) -> Staged:
    """Extract, parse, validate, conform (resolving records to the registry's cities) and
    validate again; write nothing. Without a warehouse (`con` None) it stops after the raw
    contracts. `registry`: the warehouse's, when the caller has read it already."""
    limit = source.settings.max_rejected_share
    extracted = run.extract(source, transport, log=log)
    raw = run.validate("raw", run.parse(source, extracted, log=log), source.raw_contracts(),
                       source.raw_identify, limit, log=log)
    staged = Staged(extracted, raw)
    if con is None:
        return staged
    registry = read_registry(con) if registry is None else registry
    staged.conformed = run.conform(source, {name: o.valid for name, o in raw.items()}, registry,
                                   log=log)
    if breach := unresolved_breach(staged.records_unresolved, staged.records_to_resolve,
                                   unresolved_limit(source)):
        raise SourceFailed(breach, unresolved(staged.conformed))
    contracts = canonical_contracts(registry, staged.conformed, store.network_ids(con))
    staged.canonical = run.validate("canonical", canonical_frames(staged.conformed), contracts,
                                    KEYS, limit, log=log)
    return staged


def load_source(con: Connection, source: Source, transport: Transport, flow_run_id: str | None,
                *, log: Log, run: Steps = PLAIN) -> LoadReport:
    """Run one source end to end inside a transaction and record the outcome in `load`."""
    source_id = source.meta.source_id
    load_id = store.next_load_id(con)
    started = datetime.now(UTC)
    parsed: dict[str, pd.DataFrame] = {}

    def parse(*args, **kwargs) -> dict[str, pd.DataFrame]:
        # kept, so that a load failing after it still records the rows it read
        parsed.update(run.parse(*args, **kwargs))
        return parsed

    input_hash = None
    try:
        extracted = run.extract(source, transport, log=log)
        input_hash = input_sha256(source, extracted)
        rejected = no_rejects()
        if input_hash == store.unchanged_input(con, source_id):
            held = store.facts_held_by_table(con, source_id)
            report = LoadReport(source_id, load_id, "success", rows_loaded=sum(held.values()),
                                held=held, unchanged=True)
            log.info("%s: unchanged, kept: its files hash as at its last load", source_id)
        else:
            with store.transaction(con):
                staged = stage_source(con, source, transport, log=log, run=run._replace(
                    extract=lambda *_, **__: extracted, parse=parse))
                counts = run.load(con, source, staged.extracted, staged.canonical, load_id,
                                  log=log)
            rejected = staged.rejected()
            held = store.facts_held_by_table(con, source_id)
            report = LoadReport(
                source_id, load_id, "success",
                rows_read=sum(o.rows_read for o in staged.raw.values()),
                rows_loaded=sum(held.values()),
                rows_changed=counts.changed,
                rows_rejected=staged.rows_rejected,
                held=held, rows_inserted=counts.inserted, rows_updated=counts.updated,
                rows_deleted=counts.deleted,
                records_unresolved=staged.records_unresolved,
                records_to_resolve=staged.records_to_resolve,
                unresolved_limit=unresolved_limit(source),
            )
    except Exception as error:  # a source's failure must not stop the others
        if lost_staging(error):  # but a full disk or a damaged file stops the refresh
            raise
        # the rows that made a source fail its policy are listed, though none is loaded
        rejected = error.rejected if isinstance(error, SourceFailed) else no_rejects()
        # one line, and no credential of a URL the message may quote
        reason = redact_text(str(error).splitlines()[0]) if str(error) else type(error).__name__
        log.error("%s: load failed: %s", source_id, reason)
        report = LoadReport(source_id, load_id, "failed", error=reason,
                            rows_read=_rows_read(source, parsed),
                            rows_rejected=rejected["row_number"].nunique())
    store.record_load(con, store.LoadRecord(
        report.load_id, flow_run_id, source_id, started, datetime.now(UTC), report.status,
        report.rows_read, report.rows_loaded, report.rows_changed, report.rows_rejected,
        report.error, report.records_unresolved, report.records_to_resolve, input_hash),
        rejected)
    return report


def input_sha256(source: Source, extracted: Extracted) -> str:
    """What a load of `source` depends on besides the registry: its fetched files, their
    vintage, the settings it reads them with, and citybench's version (its parsers)."""
    digest = hashlib.sha256()
    for part in (CODE_VERSION, source.meta.source_id, source.settings.model_dump_json(),
                 str(extracted.dataset_version), str(extracted.snapshot)):
        digest.update(part.encode() + b"\0")
    for name in sorted(extracted.files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(extracted.files[name]).digest())
    return digest.hexdigest()


def _rows_read(source: Source, frames: dict[str, pd.DataFrame]) -> int:
    """The rows of the frames the raw contracts check, as a successful load counts them (0 when
    the source failed before it read any)."""
    return sum(len(frames[name]) for name in source.raw_contracts() if name in frames)


def fetch_ahead(source: Source, transport: Transport, run: Steps) -> Steps:
    """The source's extract submitted now, as a task, so that the flow's task runner fetches
    every source's files at once (threads by default; a Dask cluster's workers with
    `--dask-address`) while the loads, which write the one warehouse file, stay in turn in the
    flow's process. Its parse is submitted to the same runner at its load, and only when its
    files are not those of its last load (`load_source`): an unchanged source is not parsed
    again, and no source's parsed frames wait in memory for their turn. The steps returned
    wait for the tasks, where a failure is the source's own. Plain steps (no task runner) run
    at the load, as before."""
    if not hasattr(run.extract, "submit"):
        return run
    # log=None: each task logs to its own run (flows/refresh.py, `_as_task`)
    extracted = run.extract.submit(source, transport, log=None)
    return run._replace(
        extract=lambda *_, **__: extracted.result(),
        parse=lambda *args, **__: run.parse.submit(*args, log=None).result())


def make_transport(published: Path, mirror: str | None) -> Transport:
    # The HTTP cache lives beside the warehouse it feeds, so side-by-side warehouses share
    # nothing by accident.
    cache = published.parent / "http-cache"
    if mirror and is_url(mirror):
        return HttpTransport(cache, mirror=mirror)  # a mirror is not the publisher: no limits
    if mirror:
        return MirrorTransport(Path(mirror))
    return HttpTransport(cache, limits=HOST_LIMITS)


# The sources that define the cities (one per warehouse: store.take_over_registry).
REGISTRIES = ("geonames", "geonames-dump")


def with_registry(staging: Path, sources: list[Source], *, log: Log) -> list[Source]:
    """Every other source ties its records to the registry's cities: into a warehouse with
    none, `--source user` would load nothing and score nothing. Such a refresh that names no
    registry loads the offline default's first (GeoNames, packaged: no download), and says so."""
    if any(s.meta.source_id in REGISTRIES for s in sources) or store.holds_cities(staging):
        return sources
    from flows.sources.starter import starter_sources

    registry = [s for s in starter_sources() if s.meta.source_id in REGISTRIES]
    log.warning("no cities in the warehouse yet: loading the registry of the offline default "
                "(%s, packaged) first, so that the records of %s can be tied to cities",
                ", ".join(s.meta.source_id for s in registry),
                ", ".join(s.meta.source_id for s in sources) or "no other source")
    return [*registry, *sources]


def refresh_version(published: Path, sources: list[Source], transport: Transport,
                    config: Config, flow_run_id: str | None, *, log: Log,
                    run: Steps = PLAIN, locked: Callable[[], None] = lambda: None
                    ) -> RefreshSummary:
    """Build the next version of the warehouse beside the published one, load every source
    into it, flag, score and check it, and publish it atomically; any failure of the flags,
    scores or checks publishes nothing. `locked` runs once this refresh holds the warehouse's
    lock, when no other refresh of it can be alive."""
    with next_version(published, keep=config.warehouse.keep_versions) as staging:
        log.info("building the next version of %s in %s", published, staging.name)
        locked()
        sources = with_registry(staging, sources, log=log)
        fetching = [fetch_ahead(source, transport, run) for source in sources]
        con = open_read_write(staging)
        try:
            if ran := migrate(con):
                log.info("schema migrations applied: %s", ", ".join(ran))
            loads = [load_source(con, source, transport, flow_run_id, log=log, run=steps)
                     for source, steps in zip(sources, fetching, strict=True)]
            # after every load, so the flags and the scores see the measures
            measured = run.measure_networks(con, flow_run_id=flow_run_id, log=log)
            run.flag_quality(con, config.quality, log=log)
            outcome = run.score(con, log=log)
            run.check_integrity(con, log=log)
            log.info("city search: %s names folded", f"{lookup.index_names(con):,}")
            version = record_publication(con, flow_run_id, "; ".join(
                [*(r.line() for r in loads), measured.line()]))
            load_ids = [load.load_id for load in loads]
            if measured.load_id is not None:
                load_ids.append(measured.load_id)
            report = quality.report(con, load_ids, datetime.now(UTC))
            checkpoint(con)
        finally:
            con.close()
    log.info("published version %d", version)
    return RefreshSummary(str(published), version, loads, outcome, report, measured)
