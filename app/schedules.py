"""The next scheduled refresh of each source, from the Prefect server that PREFECT_API_URL
names (`citybench status`).

Imported only when PREFECT_API_URL is set: importing Prefect takes seconds, and without a
server nothing is scheduled. A deployment is a source's when its `sources` parameter (or that of
one of its schedules) or its tags name the source's id. Its next run is its earliest scheduled
flow run, else the next time of its active schedules (a server whose scheduler has not yet
created the runs).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

# A status check must answer even when the server does not: give up after this long.
TIMEOUT_SECONDS = 5.0


class Unreachable(RuntimeError):
    """The Prefect API could not be asked; the message is one line."""


def next_runs(source_ids: list[str], now: datetime) -> dict[str, tuple[datetime, str]]:
    """By source id: the next scheduled run's time and its deployment's name; a source with
    no deployment is left out."""
    try:
        # imported before the clock starts: on a busy machine Prefect's import alone can take
        # longer than the server's answer is given
        import prefect.client.orchestration
        import prefect.server.schemas.schedules  # noqa: F401

        return asyncio.run(asyncio.wait_for(_next_runs(source_ids, now), TIMEOUT_SECONDS))
    except TimeoutError:
        raise Unreachable(f"no answer within {TIMEOUT_SECONDS:.0f} s") from None
    except Exception as error:  # httpx, Prefect's own: any of them means "not known"
        raise Unreachable(str(error).splitlines()[0] if str(error) else
                          type(error).__name__) from None


async def _next_runs(source_ids: list[str], now: datetime) -> dict[str, tuple[datetime, str]]:
    from prefect.client.orchestration import get_client

    found: dict[str, tuple[datetime, str]] = {}
    async with get_client() as client:
        for deployment in await client.read_deployments():
            named = _sources_of(deployment)
            mine = [source for source in source_ids if source in named]
            if not mine or deployment.paused:
                continue
            when = await _next_run(client, deployment, now)
            for source in mine:
                if when is not None and (source not in found or when < found[source][0]):
                    found[source] = (when, deployment.name)
    return found


def _sources_of(deployment) -> set[str]:
    named = set(deployment.tags or [])
    for parameters in [deployment.parameters, *(s.parameters for s in deployment.schedules)]:
        sources = (parameters or {}).get("sources") or []
        named.update([sources] if isinstance(sources, str) else sources)
    return named


async def _next_run(client, deployment, now: datetime) -> datetime | None:
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    runs = await client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
        sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=1)
    if runs and runs[0].expected_start_time:
        return runs[0].expected_start_time
    return await _from_schedules(deployment, now)


async def _from_schedules(deployment, now: datetime) -> datetime | None:
    from prefect.server.schemas import schedules  # the server's models compute the dates

    kinds = {"cron": schedules.CronSchedule, "interval": schedules.IntervalSchedule,
             "rrule": schedules.RRuleSchedule}
    times = []
    for entry in deployment.schedules:
        if not entry.active:
            continue
        kind = next(k for name, k in kinds.items() if hasattr(entry.schedule, name))
        dates = await kind(**entry.schedule.model_dump()).get_dates(n=1, start=now)
        times.extend(dates[:1])
    return min(times, default=None)
