"""Atomic publishing.

Readers only ever open the published file. A refresh copies it to a private staging file beside
it, writes there, and `os.replace`s it over the published one only after validation passed. The
rename is atomic, so a reader sees the old version or the new one, never a mix; a crash, kill or
failure leaves the staging file behind and the published file untouched (the next refresh sweeps
the leftovers). DuckDB lets one process write a file or many read it, never both: this is what
lets the app keep serving during a refresh (measured in ../shared/docs/STACK-NOTES.md).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse.connect import Connection

STAGING_MARK = ".next-"


class RefreshLocked(RuntimeError):
    """Another refresh is building the next version of the same warehouse."""


class PublishRefused(RuntimeError):
    """The published file may not be replaced (it is read-only, or its owner cannot be kept)."""


def staging_files(published: Path) -> list[Path]:
    return sorted(published.parent.glob(f"{published.name}{STAGING_MARK}*"))


@contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshLocked(f"another refresh is writing {lock_path.with_suffix('')}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _access(published: Path) -> os.stat_result | None:
    """The published file's status, which its next version will keep. A file its owner made
    read-only is not replaced, nor one whose owner and group this process cannot give on."""
    if not published.exists():
        return None
    status = published.stat()
    if not status.st_mode & stat.S_IWUSR:
        raise PublishRefused(
            f"{published} is read-only (mode {stat.S_IMODE(status.st_mode):04o}): make it "
            "writable (chmod u+w) to publish a new version")
    mine = status.st_uid == os.geteuid() and status.st_gid in {os.getegid(), *os.getgroups()}
    if not (mine or os.geteuid() == 0):
        raise PublishRefused(
            f"{published} belongs to {status.st_uid}:{status.st_gid}; a new version written "
            "by this user could not keep that owner and group")
    return status


def _keep_access(staging: Path, status: os.stat_result | None) -> None:
    """The next version gets the published file's mode, owner and group: a refresh must not
    open up a warehouse someone restricted (a 600 file with its own group)."""
    if status is None:
        return
    os.chown(staging, status.st_uid, status.st_gid)
    os.chmod(staging, stat.S_IMODE(status.st_mode))


@contextmanager
def next_version(published: Path) -> Iterator[Path]:
    """Yield a staging file holding a copy of the published version; publish it on clean exit.

    The caller must have closed every connection to the staging file before the block ends,
    so that DuckDB has checkpointed it and left no write-ahead log behind.
    """
    published = published.resolve()
    published.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(published.with_name(published.name + ".lock")):
        # Holding the lock, any staging file left here belongs to a refresh that died.
        for leftover in staging_files(published):
            leftover.unlink(missing_ok=True)
        staging = published.with_name(f"{published.name}{STAGING_MARK}{os.getpid()}")
        status = _access(published)
        try:
            if status is not None:
                shutil.copyfile(published, staging)
            yield staging
            _keep_access(staging, status)
            _fsync(staging)
            os.replace(staging, published)
            _fsync(published.parent)
        finally:
            for leftover in (staging, staging.with_name(staging.name + ".wal")):
                leftover.unlink(missing_ok=True)


def record_publication(con: Connection, flow_run_id: str | None, summary: str) -> int:
    """The next version's row in `publication`; returns its number."""
    version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM publication").fetchone()[0]
    con.execute("INSERT INTO publication VALUES (?, current_timestamp, ?, ?)",
                [version, flow_run_id, summary])
    return version
