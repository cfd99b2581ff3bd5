"""The refresh's webhook call: the sources that failed, once, at the end of a refresh that
published the others (warehouse/notify.py holds the call itself).

Here the URL may also come from a Prefect Secret block, Prefect being loaded already. Nothing
here may change the refresh's outcome: whatever goes wrong is one warning in the run's log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flows.pipeline import RefreshSummary
from warehouse.config import NotifySettings
from warehouse.notify import body, failed_sources, send, webhook_url


def notify_failed(summary: RefreshSummary, settings: NotifySettings, log) -> None:
    """POST the failed sources of the refresh to the webhook, if one is set."""
    if not settings.on_failed or not summary.failed:
        return
    url = webhook_url(settings) or _secret_block(settings, log)
    if url is None:
        return
    try:
        now = datetime.now(UTC)
        problems = failed_sources(Path(summary.db), [r.source_id for r in summary.failed], now)
        warning = send(url, body(summary.db, summary.version, problems, now))
    except Exception as error:  # a courtesy call never fails the refresh
        warning = f"webhook not called: {type(error).__name__}"
    if warning:
        log.warning(warning)


def _secret_block(settings: NotifySettings, log) -> str | None:
    """The URL held by the Prefect Secret block the settings name, if any."""
    if settings.webhook_secret_block is None:
        return None
    from prefect.blocks.system import Secret

    try:
        return str(Secret.load(settings.webhook_secret_block).get()).strip() or None
    except Exception as error:  # a missing block: said, and no call
        log.warning("webhook not called: the Prefect Secret block %r could not be read (%s)",
                    settings.webhook_secret_block, type(error).__name__)
        return None
