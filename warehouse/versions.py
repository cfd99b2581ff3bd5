"""Published versions: what `citybench history` lists, and the rollback that publishes a kept
version again.

Every kept file describes itself: its newest `publication` row is its version, the loads that
started after the row before it are what that version changed, and the latest score run per
framework is what it serves. A rollback publishes a kept file's content as a new version, the
way a refresh publishes (the same lock, the same atomic rename), carrying over the publication
rows of the versions it rolls back over, so that the history stays one line of numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.connect import (
    Connection,
    checkpoint,
    open_read_only,
    open_read_write,
)
from warehouse.migrate import migrate
from warehouse.publish import kept_versions, next_version, published_version, record_publication

ROLLBACK = "rollback to version"  # how a rollback's publication summary begins
# a reason is one line of the publication's summary, not a document
MAX_REASON = 500


class VersionRefused(ValueError):
    """A version that cannot be rolled back to; the message is one line."""


@dataclass(frozen=True)
class ScoreRun:
    framework_id: str
    score_run_id: str
    new: bool  # computed for this version (else carried from an earlier one: input unchanged)


@dataclass(frozen=True)
class Version:
    version: int
    published_at: datetime
    summary: str
    sources_changed: tuple[str, ...]
    rows_changed: int
    sources_failed: tuple[str, ...]
    score_runs: tuple[ScoreRun, ...]
    current: bool
    file: Path


def history(published: Path) -> list[Version]:
    """The published version and the kept earlier ones, newest first."""
    current = describe(published, current=True)
    kept = [describe(path, current=False) for number, path in
            sorted(kept_versions(published).items(), reverse=True) if number < current.version]
    return [current, *kept]


def describe(db: Path, *, current: bool) -> Version:
    con = open_read_only(db)
    try:
        con.execute("SET TimeZone = 'UTC'")
        row = con.execute(
            "SELECT version, published_at, summary, lag(published_at) OVER (ORDER BY version) "
            "FROM publication ORDER BY version DESC LIMIT 1").fetchone()
        if row is None:
            raise VersionRefused(f"{db}: no version published in it")
        version, published_at, summary, before = row
        return Version(version, published_at, summary, *_loads(con, before),
                       _score_runs(con, before), current, db)
    except duckdb.CatalogException:
        raise VersionRefused(f"{db}: not a citybench warehouse (no publication table)") from None
    finally:
        con.close()


def _loads(con: Connection, before: datetime | None) -> tuple[tuple, int, tuple]:
    """The sources whose load in this version changed rows, the rows changed, and the
    sources whose load failed."""
    changed, rows, failed = con.execute("""
        SELECT list(DISTINCT source_id ORDER BY source_id) FILTER (rows_changed > 0),
               coalesce(sum(rows_changed), 0),
               list(DISTINCT source_id ORDER BY source_id) FILTER (status = 'failed')
        FROM "load" WHERE ? IS NULL OR started_at > ?
    """, [before, before]).fetchone()
    return tuple(changed or ()), rows, tuple(failed or ())


def _score_runs(con: Connection, before: datetime | None) -> tuple[ScoreRun, ...]:
    """The score run each framework serves in this version (its latest, as the app reads)."""
    rows = con.execute("""
        SELECT framework_id, score_run_id, ? IS NULL OR created_at > ? FROM score_run
        QUALIFY row_number() OVER (
            PARTITION BY framework_id ORDER BY created_at DESC, score_run_id DESC) = 1
        ORDER BY framework_id
    """, [before, before]).fetchall()
    return tuple(ScoreRun(*row) for row in rows)


def rollback(published: Path, version: int | None, reason: str, *, keep: int) -> tuple[int, int]:
    """Publish kept version `version` (default: the newest before the published one) again as
    a new version; return (the version rolled back to, the new version's number)."""
    published = published.resolve()
    current = published_version(published)
    if current is None:
        raise VersionRefused(f"{published}: no published citybench warehouse to roll back")
    kept = {number: path for number, path in kept_versions(published).items()
            if number < current}
    target = _target(published, current, kept, version)
    if published_version(kept[target]) != target:
        raise VersionRefused(f"{kept[target]}: not a whole copy of version {target}")
    summary = f"{ROLLBACK} {target}: " + " ".join(reason.split())[:MAX_REASON]
    with next_version(published, keep=keep, base=kept[target]) as staging:
        later = _publications_after(published, target)  # under the lock: no refresh between
        con = open_read_write(staging)
        try:
            migrate(con)  # a version kept by an older citybench gets today's schema
            con.executemany("INSERT INTO publication VALUES (?, ?, ?, ?)", later)
            new = record_publication(con, None, summary)
            checkpoint(con)
        finally:
            con.close()
    return target, new


def _target(published: Path, current: int, kept: dict[int, Path], version: int | None) -> int:
    listed = ", ".join(str(number) for number in sorted(kept)) or "none"
    if version is None:
        if not kept:
            raise VersionRefused(f"{published}: no earlier version is kept to roll back to")
        return max(kept)
    if version == current:
        raise VersionRefused(f"{published}: version {version} is the published one")
    if version not in kept:
        raise VersionRefused(f"{published}: version {version} is not kept (kept: {listed})")
    return version


def _publications_after(published: Path, version: int) -> list[tuple]:
    con = open_read_only(published)
    try:
        return con.execute("SELECT version, published_at, flow_run_id, summary FROM publication "
                           "WHERE version > ? ORDER BY version", [version]).fetchall()
    finally:
        con.close()
