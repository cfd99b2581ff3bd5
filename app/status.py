"""`citybench status`: what is published, and how fresh each source is. Reads only DuckDB."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from warehouse.status import source_status


def _when(ts) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if ts else "never"


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


def status_lines(db: Path) -> list[str]:
    version, rows = source_status(db)
    if version is None:
        return [f"{db}: no version published yet"]
    lines = [f"{db}: published version {version[0]} at {_when(version[1])}"]
    now = datetime.now(UTC)
    for (source_id, refreshed, observations, last_status, last_error, last_run, dataset,
         snapshot, retrieved, cadence, frozen, unresolved, records) in rows:
        lines.append(
            f"  {source_id}: "
            + (f"last refreshed {_when(refreshed)}" if refreshed else "never refreshed")
            + f", {observations:,} rows held (observations, memberships, links)"
            + (f" ({dataset})" if dataset else "")
        )
        if frozen or cadence or records:
            lines.append("    " + "; ".join(_judged(cadence, frozen, unresolved, records)))
        if snapshot:
            age = (now - retrieved).days
            lines.append(f"    from the starter snapshot {snapshot}: the publisher's files as "
                         f"retrieved on {retrieved:%Y-%m-%d}, {age:,} days ago; `citybench "
                         f"refresh --source {source_id}` reads the publisher")
        if last_status == "failed":
            lines.append(f"    last run FAILED at {_when(last_run)}: {last_error}")
    return lines
