"""Webhook notifications: a failed or stale source announced by one HTTP POST of JSON.

The webhook's URL is a secret (its path or query usually holds the token that lets a caller
post): it is read from the environment variable `[notify] webhook_url_env` names (a refresh may
read a Prefect Secret block instead, flows/notify.py), never from the config file, and never
shown: a call that fails is reported in one line naming the webhook's host only. The body's
reasons are redacted like every other error citybench shows (warehouse/redact.py).

A webhook is a courtesy to a monitor: one that fails, hangs or refuses changes neither the
outcome of the command that called it nor its exit code.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from warehouse.config import NotifySettings
from warehouse.redact import redact_text
from warehouse.status import source_status

SOURCE_FAILED = "source_failed"
SOURCE_STALE = "source_stale"
TIMEOUT_SECONDS = 5.0  # per attempt: a monitor answers at once or not at all
ATTEMPTS = 2  # one retry, for a dropped connection or a monitor restarting


@dataclass(frozen=True)
class Problem:
    """A source the webhook is told about: `state` "failed" (its last run failed) or "stale"
    (its data are older than `stale_limit_days`, its publisher's cadence)."""

    id: str
    state: str
    reason: str | None
    last_success: datetime | None
    vintage: str | None
    stale_limit_days: int | None


def webhook_url(settings: NotifySettings) -> str | None:
    """The URL held by the environment variable the settings name, or None (no webhook)."""
    return os.environ.get(settings.webhook_url_env, "").strip() or None


def failed_sources(db: Path, source_ids: list[str], now: datetime) -> list[Problem]:
    """The sources of `source_ids` as the warehouse `db` holds them after a failed load: the
    same facts, in the same words, as `citybench status` reports."""
    rows = {row["source_id"]: row for row in source_status(db, now).sources}
    problems = []
    for source_id in source_ids:
        row = rows.get(source_id, {})
        problems.append(Problem(id=source_id, state="failed", reason=row.get("last_error"),
                                last_success=row.get("refreshed_at"),
                                vintage=row.get("dataset_version"),
                                stale_limit_days=row.get("cadence_days")))
    return problems


def body(db: Path | str, version: int | None, problems: list[Problem], now: datetime) -> dict:
    """The JSON document posted: one call lists every problem source, and its event is the
    more urgent of theirs (a failure before staleness, as `citybench status`'s exit code)."""
    failed = any(problem.state == "failed" for problem in problems)
    return {
        "event": SOURCE_FAILED if failed else SOURCE_STALE,
        "warehouse": str(db),
        "version": version,
        "time": now.astimezone(UTC).isoformat(),
        "sources": [{**asdict(problem), "reason": _redacted(problem.reason),
                     "last_success": _iso(problem.last_success)} for problem in problems],
    }


def send(url: str, document: dict, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """POST the document to the webhook: None when it answered 2xx, else one line saying why
    not, naming the webhook by its host only."""
    shown = f"webhook at {host(url)}"
    if urlsplit(url).scheme not in {"http", "https"}:  # urllib would also read file: URLs
        return f"{shown}: not called: its URL is not an http(s) URL"
    request = urllib.request.Request(
        url, data=json.dumps(document).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "citybench"})
    why = "not called"
    for _ in range(ATTEMPTS):
        try:
            with _OPENER.open(request, timeout=timeout):
                return None
        except urllib.error.HTTPError as error:
            error.close()
            why = f"HTTP {error.code}"
            if error.code < 500 and error.code != 429:  # refused: asking again changes nothing
                break
        except (OSError, ValueError) as error:  # URLError is an OSError
            why = _transport_problem(error, timeout)
    return f"{shown}: not delivered ({why}); the outcome of this command is unchanged"


def host(url: str) -> str:
    """The webhook's host (and port): all that is ever shown of its URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(an unreadable URL)"
    if not parts.hostname:
        return "(a URL without a host)"
    return parts.hostname + (f":{port}" if port else "")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is reported as its HTTP status: urllib would follow it with a GET, and the
    body would be lost while the call looked delivered."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _transport_problem(error: Exception, timeout: float) -> str:
    """Why no answer came, in words that cannot hold the URL (an exception's text may)."""
    reason = getattr(error, "reason", error)
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return type(reason).__name__


def _redacted(text: str | None) -> str | None:
    return None if text is None else redact_text(text)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()
