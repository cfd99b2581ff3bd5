"""Reliability: a page render reads one published version from start to end, even when a
refresh publishes in the middle of it; and no process outlives a killed refresh.
(benchmarks/reliability.py measures both, at length, with the real app and real refreshes.)"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_fixtures import build_warehouse
from tests.conftest import ROOT, citybench_bin, copy_of
from warehouse.connect import open_read_write
from warehouse.publish import kept_versions, next_version, record_publication

LONDON = "gn:2643743"


def publish_renamed(db: Path, keep: int) -> None:
    """Publish the next version of `db`, in which London has another name."""
    with next_version(db, keep=keep) as staging:
        con = open_read_write(staging)
        try:
            con.execute("UPDATE city SET name = 'Londinium' WHERE city_id = ?", [LONDON])
            record_publication(con, None, "London renamed")
        finally:
            con.close()


def _render(db: str, keep: int) -> None:
    """A page: one read, a refresh publishing (on the first run only), a second read."""
    from pathlib import Path

    import streamlit as st

    from app import reads
    from tests.test_reliability import LONDON, publish_renamed

    snap = reads.snapshot(Path(db))
    version = int(reads.publication(snap)["version"].iloc[0])
    if "published" not in st.session_state:
        st.session_state.published = True
        publish_renamed(Path(db), keep)
    st.session_state.runs = st.session_state.get("runs", 0) + 1
    st.write(f"{version} {reads.city(snap, LONDON)['name'].iloc[0]}")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("built") / "w.duckdb").path


@pytest.fixture
def synthetic(built, tmp_path) -> Path:
    return copy_of(built, tmp_path)


def test_a_render_keeps_reading_its_version_after_a_publish(synthetic):
    """Version 2 is replaced by 3 between the render's two reads: the second read still sees
    version 2 (from the copy the refresh kept), the next render sees version 3 throughout."""
    app = AppTest.from_function(_render, args=(str(synthetic), 3)).run(timeout=30)
    assert not app.exception
    assert [m.value for m in app.markdown] == ["2 London"]  # not "2 Londinium": two versions
    assert set(kept_versions(synthetic)) == {2}
    app.run(timeout=30)
    assert [m.value for m in app.markdown] == ["3 Londinium"]


def test_a_render_whose_version_is_gone_is_rendered_again_on_the_new_one(synthetic):
    """With no earlier version kept (keep_versions = 1), the render starts again, all of it on
    the version published now, rather than showing a page of two versions."""
    app = AppTest.from_function(_render, args=(str(synthetic), 1)).run(timeout=30)
    assert not app.exception
    assert kept_versions(synthetic) == {}
    assert [m.value for m in app.markdown] == ["3 Londinium"]
    assert app.session_state.runs == 2  # the first run was abandoned at its second read


def _processes_of_session(session: int) -> dict[int, str]:
    """The live processes (zombies aside: they are dead) of a session, with their commands."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": state ppid pgrp session
        if fields[0] != "Z" and int(fields[3]) == session:
            found[int(entry.name)] = command
    return found


def _until(condition, seconds: float):
    deadline = time.monotonic() + seconds
    while not (found := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_no_process_outlives_a_refresh_killed_alone(tmp_path):
    """The refresh's temporary Prefect server (its child) ends with it, even when the kill
    reaches the refresh alone and not its process group: it used to run on for good."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CITYBENCH_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")  # no PREFECT_API_URL: the temporary server
    refresh = subprocess.Popen([citybench_bin(), "refresh", "--db", str(tmp_path / "w.duckdb")],
                               env=env, cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server = _until(lambda: {pid: command for pid, command in
                                 _processes_of_session(refresh.pid).items()
                                 if "uvicorn" in command}, 60)
        assert server, "the refresh started no temporary Prefect server"
        os.kill(refresh.pid, signal.SIGKILL)
        refresh.wait()
        assert _until(lambda: not _processes_of_session(refresh.pid), 5), \
            f"outlived the refresh: {_processes_of_session(refresh.pid)}"
    finally:
        for pid in _processes_of_session(refresh.pid):
            os.kill(pid, signal.SIGKILL)
