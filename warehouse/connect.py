"""Connections. Readers open the published file read-only and briefly; only a refresh writes,
and it writes a private copy (see publish.py), so readers and the writer never share a file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import NamedTuple

import duckdb

# What the layers above hold a connection as, without importing DuckDB themselves.
Connection = duckdb.DuckDBPyConnection

# Extensions outside the built-in set would be downloaded; offline that stalls for seconds
# before failing. Failing at once is better.
_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class WarehouseMissing(FileNotFoundError):
    """No published warehouse at the given path yet."""


class WarehouseUnreadable(WarehouseMissing):
    """A file at the warehouse's path that cannot be read as a citybench warehouse (damaged,
    unreadable, not DuckDB, another database); the message is one line naming the file."""


# DuckDB's file: three 4 KiB headers, then its blocks. A file too short to hold the blocks in
# use lost its end (a copy cut short): its catalog may still open, but reads past the cut fail.
# (Free blocks at the end may be cut off by DuckDB itself: only the used ones are counted.)
_HEADERS = 3 * 4096

# Every citybench warehouse holds these (warehouse/migrations); a DuckDB file without them is
# some other database, and every read of it would fail on a missing table.
_MARKERS = ("publication", "source")


def open_read_only(path: Path) -> Connection:
    """The published file, read-only; checked to be a citybench warehouse, so that every
    command and page says what is wrong with a broken file in one line."""
    if not path.is_file():
        raise WarehouseMissing(f"no warehouse at {path}: run `citybench refresh` first")
    try:
        con = duckdb.connect(str(path), read_only=True, config=_CONFIG)
    except duckdb.Error as error:
        raise WarehouseUnreadable(_unreadable(path, error)) from None
    try:
        tables = {name for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE list_contains($markers, table_name)",
            {"markers": list(_MARKERS)}).fetchall()}
        (needed,) = con.execute(
            "SELECT used_blocks * block_size FROM pragma_database_size() "
            "WHERE database_name = current_database()").fetchone()
    except duckdb.Error as error:
        con.close()
        raise WarehouseUnreadable(_unreadable(path, error)) from None
    if path.stat().st_size < needed + _HEADERS:
        con.close()
        raise WarehouseUnreadable(_TRUNCATED.format(path=path))
    if missing := [name for name in _MARKERS if name not in tables]:
        con.close()
        raise WarehouseUnreadable(f"{path} is not a citybench warehouse (no {missing[0]} table)")
    return con


_TRUNCATED = "{path} is damaged: it ends before its data do (truncated)"


def _unreadable(path: Path, error: duckdb.Error) -> str:
    """What is wrong with a file DuckDB cannot open or read, in one line naming it."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "Permission denied" in text:
        return f"{path} cannot be read: permission denied"
    if "Could not read enough bytes" in text:
        return _TRUNCATED.format(path=path)
    if "Could not set lock" in text:  # a program writes to the published file itself
        return f"{path} is held open for writing by another program"
    if path.stat().st_size == 0:
        return f"{path} is not a DuckDB file: it is empty (0 bytes)"
    if "not a valid DuckDB database file" in text:
        return f"{path} is not a DuckDB file"
    # DuckDB names the file itself in most messages; the path is said once, first
    return f"{path} is damaged or not a citybench warehouse: " + text.replace(
        f'"{path}"', "the file").removeprefix("IO Error: ")


# DuckDB hands a new connection the database instance that is already open in this process for
# the same path. If one reader were still open when a refresh replaced the file, the next reader
# would get the old instance. One connection at a time means each open sees the current file.
_ONE_READER = threading.Lock()


class VersionGone(RuntimeError):
    """The version a render is pinned to is neither published nor kept any more (a refresh
    replaced it, and `keep_versions` keeps no earlier one, or pruned it)."""


class Pin(NamedTuple):
    published: Path  # the path readers open
    version: int | None  # the publication number every read must see
    kept: Path | None  # where a refresh keeps that version once it replaced it (X.versions/)


# The version the reads of this thread's current page render are pinned to (see `pinned`).
_PIN: ContextVar[Pin | None] = ContextVar("citybench_pinned_version", default=None)


@contextmanager
def pinned(pin: Pin) -> Iterator[None]:
    """Within the block, `reading(pin.published)` reads version `pin.version` only: the
    published file while it holds that version, else the copy a refresh kept of it when it
    published the next. So every read of one page render sees one version, even when a refresh
    publishes between two of them (a render's reads are seconds apart; a refresh's rename is
    atomic but may fall between them)."""
    token = _PIN.set(pin)
    try:
        yield
    finally:
        _PIN.reset(token)


def publication_number(con: Connection) -> int | None:
    """The version an open warehouse file holds (its newest publication row)."""
    return con.execute("SELECT max(version) FROM publication").fetchone()[0]


def _open_pinned(db: Path) -> tuple[Connection, Path]:
    """A read-only connection to `db`, or to the file holding the version pinned for `db`,
    and the path it reads."""
    pin = _PIN.get()
    if pin is None or pin.published != db:
        return open_read_only(db), db
    # each file's number is read in the very connection the caller gets: an open file
    # cannot change under it. The published file first: the kept copy exists (a hard link
    # made before the rename) by the time the published one has moved on.
    con = open_read_only(db)
    if publication_number(con) == pin.version:
        return con, db
    con.close()
    gone = VersionGone(f"version {pin.version} of {db} is no longer published or kept")
    if pin.kept is None:  # a file without a publication: nothing is kept of it
        raise gone
    try:
        con = open_read_only(pin.kept)
    except WarehouseMissing:  # not kept (keep_versions = 1), or pruned since
        raise gone from None
    if publication_number(con) == pin.version:
        return con, pin.kept
    con.close()
    raise gone


def identity(db: Path) -> tuple[int, int]:
    """(inode, mtime) of the file at `db`: a refresh's rename gives the path a new inode."""
    status = db.stat()
    return status.st_ino, status.st_mtime_ns


def version_at(db: Path, inode: int, mtime_ns: int) -> int | None:
    """The version number held by the file at `db` whose identity is (inode, mtime_ns);
    VersionGone if `db` is another file by the end of the read (a refresh replaced it)."""
    with reading(db) as con:
        version = publication_number(con)
    if identity(db) != (inode, mtime_ns):
        raise VersionGone(f"{db} was replaced while its version was read")
    return version


@contextmanager
def reading(db: Path) -> Iterator[Connection]:
    """A short-lived read-only connection to the published file (or to the version pinned for
    it), one at a time in a process, with timestamps shown in UTC (they are stored with their
    zone), whatever the server's."""
    with _ONE_READER:
        con, path = _open_pinned(db)
        try:
            con.execute("SET TimeZone = 'UTC'")
            yield con
        except duckdb.IOException as error:
            if str(path) not in str(error):  # another file's trouble (an export's folder)
                raise
            # a file damaged past its catalog (truncated): found only when a read reaches it
            raise WarehouseUnreadable(_unreadable(path, error)) from None
        finally:
            con.close()


def verify(db: Path) -> None:
    """Raise WarehouseMissing, or WarehouseUnreadable naming what is wrong, unless `db` opens
    as a citybench warehouse."""
    with reading(db):
        pass


def open_read_write(path: Path) -> Connection:
    return duckdb.connect(str(path), config=_CONFIG)


def checkpoint(con: Connection) -> None:
    """Write everything into the file itself, so that it can be copied or renamed alone."""
    con.execute("CHECKPOINT")
