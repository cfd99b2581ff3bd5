"""Atomic publishing.

Readers only ever open the published file. A refresh copies it to a private staging file beside
it, writes there, and `os.replace`s it over the published one only after validation passed. The
rename is atomic, so a reader sees the old version or the new one, never a mix; a crash, kill or
failure leaves the staging file behind and the published file untouched (the next refresh sweeps
the leftovers). DuckDB lets one process write a file or many read it, never both: this is what
lets the app keep serving during a refresh (measured in ../shared/docs/STACK-NOTES.md).

The outgoing version is kept in `X.versions/` (a hard link made before the rename: no copy, the
same mode and owner, and it exists before the published name moves on), and the oldest beyond
the number to keep are removed, so that `citybench rollback` can publish one again.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.connect import Connection

STAGING_MARK = ".next-"
VERSIONS_MARK = ".versions"
_KEPT_NAME = re.compile(r"(\d{6,})\.duckdb")


class RefreshLocked(RuntimeError):
    """Another refresh is building the next version of the same warehouse."""


class PublishRefused(RuntimeError):
    """The published file may not be replaced (it is read-only, or its owner cannot be kept)."""


class StagingFailed(RuntimeError):
    """The next version could not be written beside the published one (the disk is full, the
    folder cannot be written, the published file it copies is damaged). Nothing was published
    and the staging file is gone; the message is one line naming the published file."""


# DuckDB's errors that are the staging file's own failure, not a source's: an I/O error writing
# it (a full disk), the database DuckDB invalidated after such an error, a damaged block.
_LOST = (duckdb.IOException, duckdb.FatalException, duckdb.InternalException)
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded")
_CORRUPT = "Corrupt database file"


def lost_staging(error: BaseException) -> bool:
    """Whether `error` means the warehouse being written cannot go on, whichever step met it:
    a refresh then stops and publishes nothing, rather than record one source as failed and
    write on into a file DuckDB has given up on."""
    if isinstance(error, OSError):
        return error.errno in _DISK_FULL
    return isinstance(error, _LOST) or (isinstance(error, duckdb.Error) and any(
        text in str(error) for text in (_CORRUPT, *_DISK_FULL_TEXT)))  # "Failed to commit: ..."


def _mb(size: int) -> str:
    return f"{size / 2**20:,.0f} MB"


def _failure(published: Path, staging: Path, error: BaseException) -> StagingFailed:
    """What went wrong, in one line naming the published file (the staging file is a private
    name nobody asked about). Said after the staging file was removed, so that the free space
    stated is what the disk has."""
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    # the first failure, when DuckDB reports it again as the reason it gave up
    text = text.split("Original error: ")[-1].strip().strip('"').splitlines()[0]
    text = text.replace(f'"{staging}"', str(published)).replace(str(staging), str(published))
    if getattr(error, "errno", None) in _DISK_FULL or any(t in text for t in _DISK_FULL_TEXT):
        room = f"{_mb(shutil.disk_usage(published.parent).free)} free"
        if published.is_file():  # the next version starts as a copy of the published one
            room += (f"; the copy of the published file alone takes "
                     f"{_mb(published.stat().st_size)}, the sources' data come on top")
        return StagingFailed(f"no space left on the disk of {published.parent} to write the "
                             f"next version of {published.name} ({room}): nothing published")
    if _CORRUPT in text:
        detail = text.split(f"{_CORRUPT}:")[-1].strip()
        return StagingFailed(f"{published} is damaged ({detail}): nothing published; "
                             "`citybench rollback` publishes a kept version again")
    return StagingFailed(f"cannot write the next version of {published}: "
                         f"{text.removeprefix('IO Error: ')}: nothing published")


def _remove_staging(staging: Path) -> None:
    for leftover in (staging, staging.with_name(staging.name + ".wal")):
        leftover.unlink(missing_ok=True)


@contextmanager
def _in_one_line(published: Path, staging: Path, *, writing: bool) -> Iterator[None]:
    """A failure of the staging file becomes StagingFailed. `writing`: the block only writes
    the staging file or the folder, so any OSError of it is one (else only `lost_staging`)."""
    try:
        yield
    except Exception as error:
        if not (lost_staging(error) or (writing and isinstance(error, OSError))):
            raise
        _remove_staging(staging)
        raise _failure(published, staging, error) from None


def staging_files(published: Path) -> list[Path]:
    return sorted(published.parent.glob(f"{published.name}{STAGING_MARK}*"))


def versions_folder(published: Path) -> Path:
    return published.with_name(published.name + VERSIONS_MARK)


def kept_path(published: Path, version: int) -> Path:
    """Where version `version` is kept once a refresh has replaced it (if it is kept)."""
    return versions_folder(published) / f"{version:06d}.duckdb"


def kept_versions(published: Path) -> dict[int, Path]:
    """The earlier versions kept beside the published file, by number."""
    folder = versions_folder(published)
    if not folder.is_dir():
        return {}
    found = (_KEPT_NAME.fullmatch(path.name) for path in folder.iterdir())
    return {int(match[1]): folder / match[0] for match in found if match}


def published_version(db: Path) -> int | None:
    """The number of the version a warehouse file holds; None for a file that is no published
    citybench warehouse (nothing to keep of it). Only the number is read: a refresh may
    replace a file whatever else is wrong with it."""
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return None
    try:
        return con.execute("SELECT max(version) FROM publication").fetchone()[0]
    except duckdb.Error:
        return None
    finally:
        con.close()


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


def refuse_if_locked(published: Path) -> None:
    """Raise RefreshLocked when another refresh is writing `published`: asked before a refresh
    starts Prefect, so that the second of two refreshes answers in one line at once."""
    published = published.resolve()
    lock_path = published.with_name(published.name + ".lock")
    if lock_path.exists():
        with _exclusive_lock(lock_path):
            pass


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


def _keep_outgoing(published: Path, version: int) -> None:
    """Keep the published file as version `version` before it is replaced: a hard link made
    under a private name and renamed into place, so a kept version is whole or absent."""
    folder = versions_folder(published)
    folder.mkdir(exist_ok=True)
    private = folder / f".{version:06d}.duckdb{STAGING_MARK}{os.getpid()}"
    private.unlink(missing_ok=True)
    os.link(published, private)
    os.replace(private, kept_path(published, version))
    _fsync(folder)


def _prune(published: Path, keep: int) -> None:
    """Only the newest `keep - 1` earlier versions stay: with the published one, `keep`."""
    kept = kept_versions(published)
    for number in sorted(kept, reverse=True)[keep - 1:]:
        kept[number].unlink(missing_ok=True)


@contextmanager
def next_version(published: Path, *, keep: int = 1, base: Path | None = None) -> Iterator[Path]:
    """Yield a staging file holding a copy of the published version (or of `base`, a kept
    version a rollback publishes again); publish it on clean exit, keeping the `keep` newest
    versions in all, the new one included.

    The caller must have closed every connection to the staging file before the block ends,
    so that DuckDB has checkpointed it and left no write-ahead log behind.
    """
    published = published.resolve()
    lock = published.with_name(published.name + ".lock")
    try:  # a folder that cannot be written (read-only file system, full disk), said in one line
        published.parent.mkdir(parents=True, exist_ok=True)
        lock.touch()
    except OSError as error:
        raise StagingFailed(f"cannot write in {published.parent}: "
                            f"{error.strerror or error}: nothing published") from None
    with _exclusive_lock(lock):
        # Holding the lock, any staging file left here belongs to a refresh that died.
        for leftover in [*staging_files(published),
                         *versions_folder(published).glob(f".*{STAGING_MARK}*")]:
            leftover.unlink(missing_ok=True)
        staging = published.with_name(f"{published.name}{STAGING_MARK}{os.getpid()}")
        status = _access(published)
        outgoing = published_version(published) if status is not None and keep > 1 else None
        try:
            # the copy and every write up to the rename can meet a full disk: one line, and
            # the staging file removed before the free space is stated
            with _in_one_line(published, staging, writing=True):
                if base is not None or status is not None:
                    shutil.copyfile(base or published, staging)
            with _in_one_line(published, staging, writing=False):
                yield staging
            with _in_one_line(published, staging, writing=True):
                _keep_access(staging, status)
                _fsync(staging)
                if outgoing is not None:
                    _keep_outgoing(published, outgoing)
                os.replace(staging, published)
            _fsync(published.parent)
            _prune(published, keep)
        finally:
            _remove_staging(staging)


def record_publication(con: Connection, flow_run_id: str | None, summary: str) -> int:
    """The next version's row in `publication`; returns its number."""
    version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM publication").fetchone()[0]
    con.execute("INSERT INTO publication VALUES (?, current_timestamp, ?, ?)",
                [version, flow_run_id, summary])
    return version
