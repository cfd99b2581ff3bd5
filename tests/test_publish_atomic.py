"""A refresh never exposes a half-done load: killed, failed or concurrent, the published file
stays exactly as it was, and readers keep reading it."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from flows.sources.starter import starter_sources
from tests.conftest import ROOT, citybench_bin, cli_env, copy_of, refresh
from warehouse.connect import open_read_only, open_read_write
from warehouse.publish import PublishRefused, RefreshLocked, next_version, staging_files


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _make_published(path: Path, value: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE OR REPLACE TABLE t AS SELECT ? AS v", [value])
    # the tables that make a file a citybench warehouse to open_read_only
    con.execute("CREATE TABLE IF NOT EXISTS publication (version INTEGER)")
    con.execute("CREATE TABLE IF NOT EXISTS source (source_id VARCHAR)")
    con.close()


def test_failure_inside_the_block_publishes_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    _make_published(db, 1)
    before = _sha(db)
    with pytest.raises(RuntimeError, match="boom"), next_version(db) as staging:
        con = open_read_write(staging)
        con.execute("UPDATE t SET v = 2")
        con.close()
        raise RuntimeError("boom")
    assert _sha(db) == before
    assert staging_files(db) == []


def test_clean_exit_publishes_and_readers_switch_on_their_next_open(tmp_path):
    db = tmp_path / "w.duckdb"
    _make_published(db, 1)
    reader = open_read_only(db)  # held open across the swap, as a slow page render would
    with next_version(db) as staging:
        con = open_read_write(staging)
        con.execute("UPDATE t SET v = 2")
        con.close()
    assert reader.execute("SELECT v FROM t").fetchone() == (1,)  # its snapshot stays whole
    reader.close()
    fresh = open_read_only(db)
    assert fresh.execute("SELECT v FROM t").fetchone() == (2,)
    fresh.close()


def test_a_second_refresh_of_the_same_warehouse_is_refused(tmp_path):
    db = tmp_path / "w.duckdb"
    _make_published(db, 1)
    with next_version(db), pytest.raises(RefreshLocked), next_version(db):
        pass


def test_leftovers_of_a_dead_refresh_are_swept(tmp_path):
    db = tmp_path / "w.duckdb"
    _make_published(db, 1)
    leftover = db.with_name(db.name + ".next-99999")
    leftover.write_bytes(b"half a database")
    with next_version(db) as staging:
        assert not leftover.exists()
        assert staging.exists()


def _publish_once(db: Path, value: int) -> None:
    with next_version(db) as staging:
        con = open_read_write(staging)
        con.execute("UPDATE t SET v = ?", [value])
        con.close()


def test_the_next_version_keeps_the_warehouses_mode_owner_and_group(tmp_path):
    """A warehouse someone restricted (600, its own group) stays so after a refresh."""
    db = tmp_path / "w.duckdb"
    _make_published(db, 1)
    os.chmod(db, 0o640)
    owner = (os.getuid(), 65534) if os.getuid() == 0 else (os.getuid(), os.getgid())
    os.chown(db, *owner)
    _publish_once(db, 2)
    status = db.stat()
    assert (stat.S_IMODE(status.st_mode), status.st_uid, status.st_gid) == (0o640, *owner)
    os.chmod(db, 0o600)
    _publish_once(db, 3)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_a_read_only_warehouse_is_not_replaced(tmp_path):
    db = tmp_path / "w.duckdb"
    _make_published(db, 1)
    os.chmod(db, 0o444)
    before = _sha(db)
    with pytest.raises(PublishRefused, match=r"read-only \(mode 0444\)"), next_version(db):
        pass
    assert _sha(db) == before and stat.S_IMODE(db.stat().st_mode) == 0o444
    assert staging_files(db) == []


def test_sigkill_halfway_leaves_the_published_warehouse_serving(tmp_path, published, prefect):
    db = copy_of(published, tmp_path)
    before = _sha(db)
    version = _version(db)

    # Start a refresh and kill its process group while it writes its copy.
    proc = subprocess.Popen(
        [citybench_bin(), "refresh", "--db", str(db)],
        env=cli_env(prefect),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            # a source done, the others and the scores to come (the offline default's files are
            # those of the published version's loads: each source is kept)
            if "unchanged, kept" in line:
                break
        assert staging_files(db), "the refresh should be writing its staging copy now:\n" + "".join(
            seen
        )
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    assert _sha(db) == before
    assert _version(db) == version
    # The app still serves the published version.
    from streamlit.testing.v1 import AppTest

    os.environ["CITYBENCH_DB"] = str(db)
    try:
        app = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=60).run()
    finally:
        del os.environ["CITYBENCH_DB"]
    assert not app.exception
    assert f"Published version {version}" in app.caption[0].value
    assert len(app.dataframe[0].value) == 25

    # the next refresh builds and publishes as if nothing had happened (one small part: the
    # point is the version it publishes, not the data)
    again = refresh(db, [part for part in starter_sources() if part.meta.source_id == "un-wup"])
    assert not again.failed
    assert _version(db) == version + 1
    assert staging_files(db) == []


def _version(db: Path) -> int:
    con = open_read_only(db)
    try:
        return con.execute("SELECT max(version) FROM publication").fetchone()[0]
    finally:
        con.close()


_READER = """
import sys, time, duckdb
seen, failures, deadline = set(), 0, time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        con = duckdb.connect(sys.argv[1], read_only=True)
        seen.add(con.execute("SELECT v FROM t").fetchone()[0])
        con.close()
    except duckdb.Error:
        failures += 1
print(failures, len(seen))
"""


def test_a_reader_process_never_fails_while_versions_are_published(tmp_path):
    """The catch of STACK-NOTES: writing in place makes other processes' opens fail."""
    db = tmp_path / "w.duckdb"
    _make_published(db, 0)
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(db), "3"], stdout=subprocess.PIPE, text=True
    )
    time.sleep(0.3)
    for value in range(1, 20):
        with next_version(db) as staging:
            con = open_read_write(staging)
            con.execute("UPDATE t SET v = ?", [value])
            con.close()
        time.sleep(0.05)
    out, _ = reader.communicate(timeout=30)
    failures, versions_seen = map(int, out.split())
    assert failures == 0
    assert versions_seen > 1
