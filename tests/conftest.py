"""Shared fixtures: real warehouses built by the real pipeline, the way users build them.

Most tests run the pipeline's plain functions in this process on real DuckDB files (`load`,
`refresh`); the commands themselves run as subprocesses only where processes are the point
(the CLI, atomic publishing under SIGKILL, end-to-end runs). Flows run against one Prefect
API for the whole session (`prefect`), which every `citybench refresh` subprocess shares too.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

import flows  # Prefect's defaults (telemetry off), set before Prefect is imported
from flows.pipeline import LoadReport, RefreshSummary, load_source, refresh_version
from flows.sources.base import Source
from flows.sources.catalog import build
from flows.transport import Offline, Transport
from warehouse.config import Config
from warehouse.connect import open_read_write
from warehouse.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LOG = logging.getLogger("citybench.tests")


def query(db: Path, sql: str, params=()) -> list[tuple]:
    """Rows of a read-only query on a warehouse file, the connection closed at once."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


# --- the pipeline in this process ------------------------------------------------------------


def load(db: Path, source: Source, transport: Transport | None = None) -> LoadReport:
    """One source loaded into the warehouse file `db` (made if absent), as a refresh loads it:
    the same steps, in a transaction, recorded in `load`; nothing scored or published."""
    con = open_read_write(db)
    try:
        migrate(con)
        return load_source(con, source, transport or Offline(), None, log=LOG)
    finally:
        con.close()


def refresh(db: Path, sources: list[Source], transport: Transport | None = None,
            config: Config | None = None) -> RefreshSummary:
    """The whole refresh of `db` without Prefect: load, flag, score, check, publish."""
    return refresh_version(db, sources, transport or Offline(), config or Config(),
                           None, log=LOG)


def copy_of(db: Path, folder: Path) -> Path:
    copy = folder / db.name
    shutil.copyfile(db, copy)
    return copy


def _shared(tmp_path_factory, name: str) -> tuple[Path, Path]:
    """A folder of the run's, above each pytest-xdist worker's own (or the run's own without
    xdist, whose parent holds every earlier run), and the lock that lets the first process to
    need it build what goes in it while the others wait."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return shared / name, shared / f"{name}.lock"


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Path:
    """A warehouse holding the offline default registry (GeoNames), loaded once for the run
    by the plain pipeline; tests load their source into a copy (`registry_copy`)."""
    folder, lock_file = _shared(tmp_path_factory, "registry")
    db = folder / "registry.duckdb"
    with lock_file.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not db.exists():
            folder.mkdir(exist_ok=True)
            building = folder / "building.duckdb"
            report = load(building, build("geonames", Config()))
            assert report.status == "success", report.error
            building.rename(db)
    return db


@pytest.fixture
def registry_copy(registry, tmp_path) -> Path:
    return copy_of(registry, tmp_path)


# --- the commands, as users run them ---------------------------------------------------------


@dataclass(frozen=True)
class Prefect:
    """Where subprocesses find Prefect: the session's API, and a home of their own."""

    api_url: str
    home: Path


# One Prefect server for the whole run, shared by every pytest-xdist worker: a server takes
# ~10 s of CPU to start (most of it its database's migrations), which each worker paid for its
# own. The first process of the run (xdist's controller, or pytest itself) starts it without
# waiting and names it to the workers it spawns; each waits for it on its first need.
SERVER = "CITYBENCH_TESTS_PREFECT_API"
_SERVER_KEY = pytest.StashKey[tuple]()


def pytest_configure(config):
    if os.environ.get(SERVER) or config.option.collectonly:
        return
    from flows.server import start

    home = Path(tempfile.mkdtemp(prefix="citybench-tests-prefect-"))
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child, url = start(home, port)
    config.stash[_SERVER_KEY] = (child, home)
    os.environ[SERVER] = f"{url} {home / 'server.log'}"


def pytest_unconfigure(config):
    if (started := config.stash.get(_SERVER_KEY, None)) is not None:
        from flows.server import stop

        child, home = started
        stop(child)
        del os.environ[SERVER]
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect(tmp_path_factory) -> Prefect:
    """The run's Prefect API (a real server on 127.0.0.1 with a database of its own, stopped
    when the run ends), set as this process's API for the session."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.server import wait_healthy

    url, log = os.environ[SERVER].split(" ", 1)
    wait_healthy(url, None, Path(log))
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield Prefect(url, tmp_path_factory.mktemp("prefect-home"))


def cli_env(prefect: Prefect, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CITYBENCH_"))}
    env.update(PREFECT_API_URL=prefect.api_url, PREFECT_HOME=str(prefect.home),
               PYTHONUNBUFFERED="1", **flows._PREFECT_DEFAULTS, **extra)
    return env


def citybench(*args: str, env: dict[str, str], timeout: float = 300,
              cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run the installed `citybench` command exactly as a user would."""
    return subprocess.run([citybench_bin(), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def refresh_records(db: Path) -> dict:
    """What the session's Prefect API holds of the refresh of `db`: its flow run, its task
    runs, its log records and its artifacts."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )

    async def read():
        async with get_client() as client:
            flows = {f.id: f.name for f in await client.read_flows()}
            (run,) = [r for r in await client.read_flow_runs()
                      if flows.get(r.flow_id) == "refresh" and r.parameters.get("db") == str(db)]
            tasks = [t for t in await client.read_task_runs() if t.flow_run_id == run.id]
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
            return {"run": run, "tasks": tasks, "logs": logs, "artifacts": artifacts}

    return asyncio.run(read())


def citybench_bin() -> str:
    return str(Path(sys.executable).with_name("citybench"))


@pytest.fixture(scope="session")
def published(tmp_path_factory, request) -> Path:
    """A warehouse built by one real `citybench refresh` of the offline default (Prefect,
    real DuckDB, atomic publishing): the end-to-end run the app and CLI tests read, and copy
    before they change anything. Built once for the whole run: the first test process to need
    it builds it, the others (pytest-xdist workers) wait for it and read the same file."""
    folder, lock_file = _shared(tmp_path_factory, "published")
    db = folder / "citybench.duckdb"
    with lock_file.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not db.exists():
            db.parent.mkdir(exist_ok=True)
            prefect = request.getfixturevalue("prefect")
            result = citybench("refresh", "--db", str(db), env=cli_env(prefect))
            assert result.returncode == 0, result.stdout + result.stderr
    return db


# The files that take longest (a refresh of every source, the snapshot rebuilt, the property
# tests), run first; with them, one file that reads the shared `published` warehouse, so that
# one worker builds it while the other runs the longest file. The readers of `published` come
# last, by when it is built. (`make test` passes --no-loadscope-reorder, which keeps this order:
# pytest-xdist would otherwise order files by their number of tests, and a long file with few
# tests would run last while the other worker sits idle.)
FIRST = ("test_sources_end_to_end.py", "test_peer_report.py", "test_starter.py",
         "test_network_measures.py", "test_screen.py", "test_source_battery.py",
         "test_refresh.py")


# Within the two other groups, the longest files first (20 s or more of a run; --durations),
# so that the run ends on short files and neither worker waits long for the other.
LONG = ("test_browser.py", "test_load_counts.py", "test_notify.py", "test_run_states.py",
        "test_publish_atomic.py", "test_source_memberships.py", "test_matching_evaluation.py",
        "test_app_params.py", "test_report.py", "test_quality.py", "test_frameworks.py",
        "test_compare.py")


def pytest_collection_modifyitems(items):
    readers = {item.path for item in items if "published" in getattr(item, "fixturenames", ())}

    def order(item):
        name = item.path.name
        if name in FIRST:
            return (0, FIRST.index(name))
        return (2 if item.path in readers else 1, LONG.index(name) if name in LONG else len(LONG))

    items.sort(key=order)  # stable: each file's tests keep their order
