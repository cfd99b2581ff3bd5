"""`citybench status`: what is published, and how fresh each source is. Reads only DuckDB."""

from __future__ import annotations

from pathlib import Path

from warehouse.status import source_status


def _when(ts) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if ts else "never"


def status_lines(db: Path) -> list[str]:
    version, rows = source_status(db)
    if version is None:
        return [f"{db}: no version published yet"]
    lines = [f"{db}: published version {version[0]} at {_when(version[1])}"]
    for source_id, refreshed, observations, last_status, last_error, last_run, dataset in rows:
        lines.append(
            f"  {source_id}: "
            + (f"last refreshed {_when(refreshed)}" if refreshed else "never refreshed")
            + f", {observations:,} rows held"
            + (f" ({dataset})" if dataset else "")
        )
        if last_status == "failed":
            lines.append(f"    last run FAILED at {_when(last_run)}: {last_error}")
    return lines
