"""The refresh flow: load every selected source into the next version, score it, publish it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.loading import LoadReport, load_source
from flows.scoring import ScoreOutcome, score_warehouse
from flows.sources.catalog import SOURCES
from flows.transport import HostLimit, HttpTransport, MirrorTransport, is_url
from warehouse import integrity, quality
from warehouse.connect import open_read_write
from warehouse.migrate import migrate
from warehouse.publish import next_version

# Publishers' stated limits, by host: OECD allows about 60 downloads an hour.
HOST_LIMITS = {"sdmx.oecd.org": HostLimit(requests=60, per_seconds=3600)}


def make_transport(published: Path, mirror: str | None) -> MirrorTransport | HttpTransport:
    # The HTTP cache lives beside the warehouse it feeds, so side-by-side warehouses share
    # nothing by accident.
    cache = published.parent / "http-cache"
    if mirror and is_url(mirror):
        return HttpTransport(cache, mirror=mirror)  # a mirror is not the publisher: no limits
    if mirror:
        return MirrorTransport(Path(mirror))
    return HttpTransport(cache, limits=HOST_LIMITS)


class IntegrityFailed(RuntimeError):
    """The next version broke a cross-table rule; it was not published."""


@dataclass(frozen=True)
class RefreshSummary:
    db: str
    version: int
    loads: list[LoadReport]
    score: ScoreOutcome

    @property
    def failed(self) -> list[LoadReport]:
        return [r for r in self.loads if r.status != "success"]

    def lines(self) -> list[str]:
        scored = "unchanged" if self.score.reused else "new score run"
        return [
            f"published version {self.version} of {self.db}",
            *(f"  {report.line()}" for report in self.loads),
            f"  scores: {self.score.cities:,} cities ({scored} {self.score.score_run_id})",
        ]


@task(cache_policy=NO_CACHE)
def score(con) -> ScoreOutcome:
    outcome = score_warehouse(con)
    get_run_logger().info(
        "scored %d cities (run %s%s)",
        outcome.cities,
        outcome.score_run_id,
        ", unchanged" if outcome.reused else "",
    )
    return outcome


@task(cache_policy=NO_CACHE)
def flag_quality(con) -> int:
    flags = quality.flag(con, datetime.now(UTC), quality.Thresholds.configured())
    get_run_logger().info("%d value(s) flagged for review (data-quality report)", flags)
    return flags


@task(cache_policy=NO_CACHE)
def check_integrity(con) -> None:
    if problems := integrity.violations(con):
        raise IntegrityFailed("not published: " + "; ".join(problems))


def _publish_record(con, flow_run_id: str | None, loads: list[LoadReport]) -> int:
    version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM publication").fetchone()[0]
    summary = "; ".join(r.line() for r in loads)
    con.execute(
        "INSERT INTO publication VALUES (?, current_timestamp, ?, ?)",
        [version, flow_run_id, summary],
    )
    return version


@flow(
    name="refresh", description="Refresh the citybench warehouse from its sources and publish it."
)
def refresh(db: str, sources: list[str] | None = None, mirror: str | None = None) -> RefreshSummary:
    logger = get_run_logger()
    flow_run_id = runtime.flow_run.id
    selected = sources or list(SOURCES)
    published = Path(db)
    with next_version(published) as staging:
        logger.info("building the next version of %s in %s", published, staging.name)
        con = open_read_write(staging)
        try:
            if ran := migrate(con):
                logger.info("schema migrations applied: %s", ", ".join(ran))
            transport = make_transport(published, mirror)
            try:
                loads = [
                    load_source(con, SOURCES[name](), transport, flow_run_id) for name in selected
                ]
            finally:
                transport.close()
            flag_quality(con)
            outcome = score(con)
            check_integrity(con)
            version = _publish_record(con, flow_run_id, loads)
            report = _quality_report(con, [load.load_id for load in loads])
            con.execute("CHECKPOINT")
        finally:
            con.close()
    summary = RefreshSummary(str(published), version, loads, outcome)
    logger.info("published version %d", version)
    _artifacts(summary, report)
    return summary


def _quality_report(con, load_ids: list[int]) -> tuple:
    return (
        quality.rejected_by_check(con, load_ids),
        quality.flags_by_check(con),
        quality.freshness(con, datetime.now(UTC)),
    )


def _artifacts(summary: RefreshSummary, report: tuple) -> None:
    rejected, flags, fresh = report
    create_table_artifact(
        key="data-quality",
        table=[
            *({"kind": "rejected", **row} for row in rejected.to_dict("records")),
            *({"kind": "flagged", **row} for row in flags.rename(
                columns={"flags": "rows"}).to_dict("records")),
        ],
        description=f"Rejected and flagged rows, by source and check (version {summary.version})",
    )
    create_markdown_artifact(
        key="data-quality-report",
        markdown=quality.markdown(rejected, flags, fresh),
        description=f"Data-quality report of published version {summary.version}",
    )
    create_table_artifact(
        key="refresh-loads",
        table=[report.__dict__ for report in summary.loads],
        description=f"Loads of published version {summary.version}",
    )
    create_markdown_artifact(
        key="refresh-summary",
        markdown="\n".join(["# Refresh", "", *(f"- {line.strip()}" for line in summary.lines())]),
        description="What the refresh published",
    )
