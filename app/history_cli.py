"""`citybench history` and `citybench rollback [VERSION]`: the published versions kept, and
publishing one of them again. Reads and writes DuckDB only (warehouse/versions.py): no Prefect."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from warehouse.connect import WarehouseMissing
from warehouse.publish import PublishRefused, RefreshLocked
from warehouse.versions import ROLLBACK, Version, VersionRefused, history, rollback


def run_history(db: Path, output: str) -> int:
    try:
        versions = history(db)
    except (WarehouseMissing, VersionRefused) as error:
        print(f"citybench history: {error}", file=sys.stderr)
        return 1
    print(json.dumps([_record(v) for v in versions], indent=2) if output == "json"
          else _table(versions))
    return 0


def run_rollback(db: Path, version: int | None, reason: str, keep: int) -> int:
    try:
        target, new = rollback(db, version, reason, keep=keep)
    except (WarehouseMissing, VersionRefused, RefreshLocked, PublishRefused) as error:
        print(f"citybench rollback: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a kept file pruned by a refresh in between, a full disk
        print(f"citybench rollback: {db}: {error.strerror or error}"
              + (f": {error.filename}" if error.filename else "") + "; nothing changed",
              file=sys.stderr)
        return 1
    print(f"citybench rollback: published version {new} of {db}: the content of version "
          f"{target} ({' '.join(reason.split())})")
    return 0


def _record(version: Version) -> dict:
    return {
        "version": version.version,
        "published_at": version.published_at.isoformat(),
        "current": version.current,
        "sources_changed": list(version.sources_changed),
        "rows_changed": version.rows_changed,
        "sources_failed": list(version.sources_failed),
        "score_runs": [{"framework_id": run.framework_id, "score_run_id": run.score_run_id,
                        "new": run.new} for run in version.score_runs],
        "summary": version.summary,
        "file": str(version.file),
    }


def _table(versions: list[Version]) -> str:
    rows = [("", "version", "published (UTC)", "sources changed", "rows changed",
             "score runs", "note")]
    for v in versions:
        runs = " ".join(run.score_run_id[:8] + ("+" if run.new else "") for run in v.score_runs)
        note = v.summary if v.summary.startswith(ROLLBACK) else (
            "failed: " + ", ".join(v.sources_failed) if v.sources_failed else "")
        rows.append(("*" if v.current else "", str(v.version),
                     f"{v.published_at:%Y-%m-%d %H:%M:%S}",
                     ", ".join(v.sources_changed) or "-", f"{v.rows_changed:,}", runs or "-",
                     note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
             + "  " + row[-1] for row in rows]
    return "\n".join(line.rstrip() for line in [
        *lines, "* the published version; + a score run computed in that version (the others "
        "were carried over: their input had not changed)"])
