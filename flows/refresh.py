"""The refresh flow: flows/pipeline.py orchestrated by Prefect.

Every step of the pipeline runs as a Prefect task of its own name (extract, parse, validate,
conform, load, measure_networks, flag_quality, score, check_integrity), logging to that task
run, so a run's history shows where a source failed and how long each step took. The run leaves four
artifacts: the loads, a summary, and the data-quality report as a table and in Markdown. A run
in which a source failed also calls the [notify] webhook with them (flows/notify.py).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import socket
from collections.abc import Callable
from pathlib import Path

from prefect import flow, get_client, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import StateType
from prefect.states import Crashed, Failed, State

from flows.children import on_temporary_server
from flows.concurrency import SlotTaken, one_refresh_at_a_time
from flows.notify import notify_failed
from flows.pipeline import PLAIN, RefreshSummary, Steps, make_transport, refresh_version
from flows.sources.catalog import chosen, read_config
from flows.sources.eurostat_formulas import FormulaError
from flows.steps import IntegrityFailed
from flows.transport import FetchFailed
from flows.validate import SourceFailed
from warehouse import quality
from warehouse.config import Config
from warehouse.parse_error import ParseError
from warehouse.publish import PublishRefused, RefreshLocked, StagingFailed, lost_staging
from warehouse.validation import FrameRejected

# A run's host, as a tag: a killed run is recognised only by a later refresh on its machine.
HOST_TAG = f"host:{socket.gethostname()}"


def _as_task(step: Callable, **options) -> Callable:
    """The step as a Prefect task of the same name, logging to its own task run; `options`
    are Prefect's task options (retries, timeout_seconds, ...)."""

    @functools.wraps(step)
    def in_task(*args, log=None, **kwargs):
        return step(*args, log=get_run_logger(), **kwargs)

    return task(in_task, name=step.__name__, cache_policy=NO_CACHE, **options)


TASKS = Steps(*(_as_task(step) for step in PLAIN))


# A source's failure that citybench words itself: the refresh logs and records it in one line
# (`load_source`), so Prefect's task log needs no traceback of it. Any other exception is a
# defect, whose traceback is what its reader needs.
SAID = (FetchFailed, ParseError, FrameRejected, SourceFailed, FormulaError)


class _NoTracebackWhenSaid(logging.Filter):
    """Prefect logs a failed task's exception with its traceback, on the terminal and in its
    database. For a source's failure citybench words (SAID), and for a full disk or a damaged
    file, which stop the refresh in one line (StagingFailed), the line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and (isinstance(error, SAID) or lost_staging(error)):
            record.exc_info = record.exc_text = None
        return True


logging.getLogger("prefect.task_runs").addFilter(_NoTracebackWhenSaid())


@flow(
    name="refresh", description="Refresh the citybench warehouse from its sources and publish it."
)
def refresh(db: str, sources: list[str] | None = None, mirror: str | None = None,
            config: Config | None = None) -> RefreshSummary | State:
    """`config` is recorded in the run's parameters as its file and hash only: its values may
    hold credentials.

    The run ends Completed with the summary; Failed, named Partial, with the summary when a
    source failed and the others were published; Failed with the error when nothing was
    published (another refresh holds the warehouse, the checks failed, the file may not be
    replaced). A refusal is returned, not raised, so that Prefect logs no traceback for it."""
    scheduled = runtime.deployment.id is not None
    if config is None:  # a scheduled run reads the file `citybench serve` read
        config = read_config() if scheduled else Config()
    logger = get_run_logger()
    chosen_sources = chosen(sources or config.refresh.sources, config)
    transport = make_transport(Path(db), mirror)
    _tag_host()
    try:
        with (one_refresh_at_a_time(db, wait=scheduled)
              if scheduled or not on_temporary_server() else contextlib.nullcontext()):
            summary = refresh_version(
                Path(db), chosen_sources, transport, config, runtime.flow_run.id, log=logger,
                run=_scheduled_tasks(config) if scheduled else TASKS,
                locked=lambda: _crash_killed_runs(db))
    except (RefreshLocked, SlotTaken, IntegrityFailed, PublishRefused, StagingFailed) as error:
        logger.error("nothing published: %s", error)
        return Failed(message=str(error), data=error)
    finally:
        transport.close()
    _artifacts(summary)
    if summary.failed:
        notify_failed(summary, config.notify, logger)
        return Failed(name="Partial", message=summary.failure(), data=summary)
    return summary


def _scheduled_tasks(config: Config) -> Steps:
    """The steps of a scheduled run: each source's fetch is timed out and retried with
    exponential backoff, as its [schedules.<group>] (else [schedules]) says. A refresh started
    by hand is not: its user is watching and can run it again."""
    settings = config.schedules
    group = settings.groups.get(runtime.deployment.name)
    retries = settings.retries if group is None or group.retries is None else group.retries
    timeout = (settings.timeout_seconds if group is None or group.timeout_seconds is None
               else group.timeout_seconds)
    return TASKS._replace(extract=_as_task(PLAIN.extract, retries=retries,
                                           retry_delay_seconds=settings.delays(retries),
                                           timeout_seconds=timeout))


def _tag_host() -> None:
    """This run's host among its tags, for `_crash_killed_runs` of a later refresh."""
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(runtime.flow_run.id)
        client.update_flow_run(run.id, tags=sorted({*run.tags, HOST_TAG}))


def _crash_killed_runs(db: str) -> None:
    """Refreshes of this warehouse on this host that Prefect still lists as RUNNING were
    killed (a live one would hold the warehouse's lock, which this run holds): they are marked
    Crashed, so that no run stays RUNNING forever."""
    logger = get_run_logger()
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["refresh"])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])),
                tags=FlowRunFilterTags(all_=[HOST_TAG])))
        for run in runs:
            if str(run.id) != runtime.flow_run.id and run.parameters.get("db") == db:
                client.set_flow_run_state(run.id, Crashed(
                    message="its process ended without a final state (killed): found by a "
                            "later refresh of the same warehouse"), force=True)
                logger.warning("flow run %s of %s was left RUNNING by a killed refresh: "
                               "marked Crashed", run.name, db)


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
