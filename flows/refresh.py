"""The refresh flow: flows/pipeline.py orchestrated by Prefect.

Every step of the pipeline runs as a Prefect task of its own name (extract, parse, validate,
conform, load, measure_networks, flag_quality, score, check_integrity), logging to that task
run, so a run's history shows where a source failed and how long each step took. The run leaves four
artifacts: the loads, a summary, and the data-quality report as a table and in Markdown.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.pipeline import PLAIN, RefreshSummary, Steps, make_transport, refresh_version
from flows.sources.catalog import chosen
from warehouse import quality
from warehouse.config import Config


def _as_task(step: Callable) -> Callable:
    """The step as a Prefect task of the same name, logging to its own task run."""

    @functools.wraps(step)
    def in_task(*args, log=None, **kwargs):
        return step(*args, log=get_run_logger(), **kwargs)

    return task(in_task, name=step.__name__, cache_policy=NO_CACHE)


TASKS = Steps(*(_as_task(step) for step in PLAIN))


@flow(
    name="refresh", description="Refresh the citybench warehouse from its sources and publish it."
)
def refresh(db: str, sources: list[str] | None = None, mirror: str | None = None,
            config: Config | None = None) -> RefreshSummary:
    """`config` is recorded in the run's parameters as its file and hash only: its values may
    hold credentials."""
    config = Config() if config is None else config
    logger = get_run_logger()
    chosen_sources = chosen(sources or config.refresh.sources, config)
    transport = make_transport(Path(db), mirror)
    try:
        summary = refresh_version(Path(db), chosen_sources, transport, config, runtime.flow_run.id,
                                  log=logger, run=TASKS)
    finally:
        transport.close()
    _artifacts(summary)
    return summary


def _artifacts(summary: RefreshSummary) -> None:
    report = summary.report
    create_table_artifact(
        key="data-quality",
        table=[
            *({"kind": "rejected", **row} for row in report.rejected.to_dict("records")),
            *({"kind": "flagged", **row} for row in report.flags.rename(
                columns={"flags": "rows"}).to_dict("records")),
        ],
        description=f"Rejected and flagged rows, by source and check (version {summary.version})",
    )
    create_markdown_artifact(
        key="data-quality-report",
        markdown=quality.markdown(report),
        description=f"Data-quality report of published version {summary.version}",
    )
    create_table_artifact(
        key="refresh-loads",
        table=[load.__dict__ for load in summary.loads],
        description=f"Loads of published version {summary.version}",
    )
    create_markdown_artifact(
        key="refresh-summary",
        markdown="\n".join(["# Refresh", "", *(f"- {line.strip()}" for line in summary.lines())]),
        description="What the refresh published",
    )
