"""Shared fixtures: real refreshes of real warehouses, run the way users run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def query(db: Path, sql: str, params=()) -> list[tuple]:
    """Rows of a read-only query on a warehouse file, the connection closed at once."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def cli_env(prefect_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CITYBENCH_"))}
    env.update(PREFECT_HOME=str(prefect_home), PYTHONUNBUFFERED="1", **extra)
    return env


def citybench(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the installed `citybench` command exactly as a user would."""
    return subprocess.run(
        [_citybench_bin(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def _citybench_bin() -> str:
    return str(Path(sys.executable).with_name("citybench"))


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory) -> Path:
    """One Prefect home for every refresh of the session: its database is migrated once."""
    return tmp_path_factory.mktemp("prefect-home")


@pytest.fixture(scope="session")
def published(tmp_path_factory, prefect_home) -> Path:
    """A warehouse built by one real `citybench refresh` (Prefect's embedded API, real DuckDB)."""
    db = tmp_path_factory.mktemp("warehouse") / "citybench.duckdb"
    result = citybench("refresh", "--db", str(db), env=cli_env(prefect_home))
    assert result.returncode == 0, result.stdout + result.stderr
    return db
