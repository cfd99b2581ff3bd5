"""Connections. Readers open the published file read-only and briefly; only a refresh writes,
and it writes a private copy (see publish.py), so readers and the writer never share a file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


@contextmanager
def reading(db: Path) -> Iterator[Connection]:
    """A short-lived read-only connection to the published file, one at a time in a process,
    with timestamps shown in UTC (they are stored with their zone), whatever the server's."""
    with _ONE_READER:
        con = open_read_only(db)
        try:
            con.execute("SET TimeZone = 'UTC'")
            yield con
        except duckdb.IOException as error:
            if str(db) not in str(error):  # another file's trouble (an export's folder)
                raise
            # a file damaged past its catalog (truncated): found only when a read reaches it
            raise WarehouseUnreadable(_unreadable(db, error)) from None
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
