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


def open_read_only(path: Path) -> Connection:
    if not path.is_file():
        raise WarehouseMissing(f"no warehouse at {path}: run `citybench refresh` first")
    return duckdb.connect(str(path), read_only=True, config=_CONFIG)


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
        finally:
            con.close()


def open_read_write(path: Path) -> Connection:
    return duckdb.connect(str(path), config=_CONFIG)


def checkpoint(con: Connection) -> None:
    """Write everything into the file itself, so that it can be copied or renamed alone."""
    con.execute("CHECKPOINT")
