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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STAGING_MARK = ".next-"


class RefreshLocked(RuntimeError):
    """Another refresh is building the next version of the same warehouse."""


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
        if published.exists():
            shutil.copyfile(published, staging)
        try:
            yield staging
            _fsync(staging)
            os.replace(staging, published)
            _fsync(published.parent)
        finally:
            for leftover in (staging, staging.with_name(staging.name + ".wal")):
                leftover.unlink(missing_ok=True)
