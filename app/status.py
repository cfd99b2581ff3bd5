"""`citybench status`: what is published, how each source's runs went, how fresh its data
are, when it runs next; and an exit code a monitor can alert on.

Reads only DuckDB; asks Prefect for the next runs only when PREFECT_API_URL names a server.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from warehouse.config import NotifySettings
from warehouse.notify import Problem, body, send, webhook_url
from warehouse.redact import redact_text, redact_url
from warehouse.status import source_status

# The exit codes (stated in `citybench status --help` and the README). A failed run is the
# more urgent: when a source's last run failed and another is stale, the code is 1.
EXIT_OK = 0
EXIT_FAILED = 1  # a source's last run failed, nothing is published, or the file is unreadable
EXIT_STALE = 2  # a source's data are older than the cadence its publisher states

NOT_SCHEDULED = "not scheduled"


def status(db: Path, now: datetime | None = None) -> dict:
    """The whole status as one document (`--format json` prints it): times as datetimes."""
    now = now or datetime.now(UTC)
    found = source_status(db, now)
    scheduler, runs = _schedules([row["source_id"] for row in found.sources], now)
    sources = [_source(row, found.freshness.get(row["source_id"], {}),
                       runs.get(row["source_id"])) for row in found.sources]
    failed = [s["source_id"] for s in sources if s["last_run"]["status"] == "failed"]
    stale = [s["source_id"] for s in sources if s["stale_beyond_limit"]]
    if found.version is None:
        code, verdict = EXIT_FAILED, "no version published yet"
    elif failed or stale:
        code = EXIT_FAILED if failed else EXIT_STALE
        verdict = "; ".join(
            ([f"last run failed: {', '.join(failed)}"] if failed else [])
            + ([f"stale beyond the publisher's cadence: {', '.join(stale)}"] if stale else []))
    else:
        code, verdict = EXIT_OK, "every source's last run succeeded and none is stale"
    return {
        "warehouse": str(db),
        "checked_at": now,
        "published": None if found.version is None else {
            "version": found.version[0], "published_at": found.version[1]},
        "scheduler": scheduler,
        "sources": sources,
        "exit_code": code,
        "verdict": verdict,
    }


def _source(row: dict, fresh: dict, next_run: tuple[datetime, str] | None) -> dict:
    stale = bool(fresh.get("stale"))
    return {
        "source_id": row["source_id"],
        "last_success": row["refreshed_at"],
        "rows_held": row["rows_held"],
        "last_run": {"status": row["last_status"], "finished_at": row["last_run_at"],
                     "error": _redacted(row["last_error"])},
        "last_failure": None if row["failed_at"] is None else {
            "finished_at": row["failed_at"], "reason": _redacted(row["failure"])},
        "vintage": row["dataset_version"],
        "retrieved_at": row["retrieved_at"],
        "publisher_update": fresh.get("publisher_update"),
        "age_days": fresh.get("age_days"),
        "cadence_days": row["cadence_days"],
        "frozen_since": row["frozen_since"],
        "stale": stale,
        "stale_reason": fresh.get("stale_reason"),
        # Data its publisher no longer updates state no limit to exceed: no refresh can make
        # them fresher, so they are reported stale but raise no alert.
        "stale_beyond_limit": stale and row["frozen_since"] is None,
        "starter_snapshot": row["snapshot"],
        "records_unresolved": row["records_unresolved"],
        "records_to_resolve": row["records_to_resolve"],
        "next_run": None if next_run is None else next_run[0],
        "deployment": None if next_run is None else next_run[1],
    }


def _redacted(text: str | None) -> str | None:
    return None if text is None else redact_text(text)


def _schedules(source_ids: list[str], now: datetime) -> tuple[dict, dict]:
    """Who asks Prefect (only with PREFECT_API_URL set) and what it said: the next runs by
    source id, or why they are not known."""
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        return {"api_url": None, "error": None}, {}
    from app.schedules import Unreachable, next_runs  # imports Prefect: seconds

    shown = redact_url(api_url)
    try:
        return {"api_url": shown, "error": None}, next_runs(source_ids, now)
    except Unreachable as error:
        return {"api_url": shown, "error": str(error)}, {}


def notify(document: dict, settings: NotifySettings) -> str | None:
    """`--notify`: one webhook call listing every source that alerts (its last run failed, its
    data are stale beyond their limit; each as [notify] chooses), so that a monitor hears of
    them all at once. None when delivered or when nothing alerts; else the line to warn with."""
    url = webhook_url(settings)
    if url is None:  # said even on a good day: the monitor would otherwise never hear
        return (f"--notify: no webhook called: ${settings.webhook_url_env} is not set"
                + ("; the Prefect Secret block of [notify] is read by refresh only"
                   if settings.webhook_secret_block else ""))
    problems = [problem for source in document["sources"]
                if (problem := _problem(source, settings)) is not None]
    if not problems:
        return None
    published = document["published"]
    return send(url, body(document["warehouse"], published and published["version"],
                          problems, document["checked_at"]))


def _problem(source: dict, settings: NotifySettings) -> Problem | None:
    if settings.on_failed and source["last_run"]["status"] == "failed":
        state, reason = "failed", source["last_failure"]["reason"]
    elif settings.on_stale and source["stale_beyond_limit"]:
        state, reason = "stale", source["stale_reason"]
    else:
        return None
    return Problem(id=source["source_id"], state=state, reason=reason,
                   last_success=source["last_success"], vintage=source["vintage"],
                   stale_limit_days=source["cadence_days"])


def as_json(document: dict) -> str:
    return json.dumps(document, indent=2, default=_iso)


def _iso(value) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


# --- the text for people ----------------------------------------------------------------------
def _when(ts) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "never"


def _judged(cadence, frozen, unresolved, records) -> list[str]:
    """How the source's freshness is judged, and how much of it found no city."""
    parts = []
    if frozen:
        parts.append(f"not updated by its publisher since {frozen}")
    elif cadence:
        parts.append(f"publisher updates about every {cadence:,} days")
    if records:
        parts.append(f"{unresolved or 0:,} of {records:,} records not tied to a city "
                     f"({(unresolved or 0) / records:.1%} unresolved)")
    return parts


def status_lines(db: Path, now: datetime | None = None) -> list[str]:
    return lines(status(db, now))


def lines(document: dict) -> list[str]:
    db, published = document["warehouse"], document["published"]
    if published is None:
        return [f"{db}: no version published yet", f"status: ALERT (exit "
                f"{document['exit_code']}): {document['verdict']}"]
    out = [f"{db}: published version {published['version']} at "
           f"{_when(published['published_at'])}"]
    scheduler = document["scheduler"]
    if scheduler["error"]:
        out.append(f"  next runs unknown: the Prefect API at {scheduler['api_url']} did not "
                   f"answer: {scheduler['error']}")
    for source in document["sources"]:
        out.extend(_source_lines(source, document["checked_at"], scheduler))
    code = document["exit_code"]
    out.append(f"status: ok: {document['verdict']}" if code == EXIT_OK
               else f"status: ALERT (exit {code}): {document['verdict']}")
    return out


def _source_lines(source: dict, now: datetime, scheduler: dict) -> list[str]:
    out = [
        f"  {source['source_id']}: "
        + (f"last refreshed {_when(source['last_success'])}" if source["last_success"]
           else "never refreshed")
        + f", {source['rows_held']:,} rows held (observations, memberships, links)"
        + (f" ({source['vintage']})" if source["vintage"] else "")
    ]
    cadence, frozen = source["cadence_days"], source["frozen_since"]
    records = source["records_to_resolve"]
    if frozen or cadence or records:
        out.append("    " + "; ".join(_judged(cadence, frozen, source["records_unresolved"],
                                             records)))
    if source["stale_beyond_limit"]:
        out.append(f"    STALE: {source['stale_reason']}")
    if snapshot := source["starter_snapshot"]:
        retrieved = source["retrieved_at"]
        out.append(f"    from the starter snapshot {snapshot}: the publisher's files as "
                   f"retrieved on {retrieved:%Y-%m-%d}, {(now - retrieved).days:,} days ago; "
                   f"`citybench refresh --source {source['source_id']}` reads the publisher")
    failure = source["last_failure"]
    if source["last_run"]["status"] == "failed":
        out.append(f"    last run FAILED at {_when(failure['finished_at'])}: "
                   f"{failure['reason']}")
    elif failure:
        out.append(f"    last failure {_when(failure['finished_at'])}: {failure['reason']}")
    if source["next_run"]:
        out.append(f"    next run {_when(source['next_run'])} "
                   f"(deployment {source['deployment']})")
    else:
        out.append("    next run: " + ("unknown" if scheduler["error"] else NOT_SCHEDULED))
    return out
