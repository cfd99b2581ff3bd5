"""A broken warehouse file or config, as a new user meets one: every command says in one line
which file and what is wrong, exits 1 and changes nothing (no traceback, no file written).

The real `citybench` command runs: `status` on each broken file; `app`, `check` and `refresh`
(which start a Python that imports every source, ~1.7 s) on one or two, since the refusal comes
from the same place for all (warehouse/connect.py open_read_only). The suite's time is short.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, citybench_bin

# DuckDB's file starts with three 4 KiB headers; 300,000 bytes keep them and part of the
# catalog, 60% of the file keeps the catalog and loses data blocks.
CASES = {
    "zero-byte": "is not a DuckDB file: it is empty (0 bytes)",
    "truncated": "is damaged: it ends before its data do (truncated)",
    "truncated-past-catalog": "is damaged: it ends before its data do (truncated)",
    "not-duckdb": "is not a DuckDB file",
    "other-database": "is not a citybench warehouse (no publication table)",
}
NOBODY = 65534


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CITYBENCH_"))}
    return {**env, **extra}


def _run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT,
         prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, citybench_bin(), *args], env=env or _env(), cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def _make(case: str, path: Path, published: Path) -> Path:
    if case == "zero-byte":
        path.write_bytes(b"")
    elif case.startswith("truncated"):
        size = 300_000 if case == "truncated" else int(published.stat().st_size * 0.6)
        with published.open("rb") as whole:
            path.write_bytes(whole.read(size))
    elif case == "not-duckdb":
        path.write_text("city,indicator,period,value\nParis,population,2020,2100000\n")
    else:
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE invoices (id INTEGER, amount DOUBLE)")
        con.close()
    return path


@pytest.fixture(scope="module")
def broken(published, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("broken")
    (folder / "rows.csv").write_text("city,indicator,period,value\nParis, FR,population,2020,1\n")
    return {case: _make(case, folder / f"{case}.duckdb", published) for case in CASES}


def _state(folder: Path) -> dict[str, str]:
    """Every file of the folder and its hash: what "nothing changed" compares."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def _assert_refused(result, command: str, db: Path, expected: str, before: dict) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [f"citybench {command}: {db} {expected}"]
    assert "Traceback" not in result.stdout + result.stderr
    assert _state(db.parent) == before


@pytest.mark.parametrize("command, case", [
    *(("status", case) for case in CASES), ("app", "zero-byte"), ("app", "other-database")])
def test_status_and_app_refuse_a_broken_warehouse(broken, case, command):
    db = broken[case]
    before = _state(db.parent)
    result = _run(command, "--db", str(db))
    _assert_refused(result, command, db, CASES[case], before)


@pytest.mark.parametrize("case", ["truncated-past-catalog"])
def test_check_refuses_a_broken_warehouse(broken, case):
    db = broken[case]
    before = _state(db.parent)
    result = _run("check", str(db.parent / "rows.csv"), "--db", str(db))
    _assert_refused(result, "check", db, CASES[case], before)


@pytest.mark.parametrize("case", ["zero-byte"])
def test_refresh_refuses_a_broken_warehouse_before_starting_prefect(broken, case):
    """Refused before Prefect starts: nothing is built upon another program's database."""
    db = broken[case]
    before = _state(db.parent)
    result = _run("refresh", "--db", str(db))
    _assert_refused(result, "refresh", db, CASES[case], before)
    assert "prefect" not in result.stderr.lower()


def test_an_unreadable_warehouse_is_named(published):
    """chmod 000 stops no one running as root (as the tests do): the command then runs as
    nobody, from a folder nobody may enter."""
    folder = Path(tempfile.mkdtemp(prefix="citybench-unreadable-"))
    try:
        folder.chmod(0o755)
        db = _make("truncated", folder / "locked.duckdb", published)
        db.chmod(0)
        before = _state(folder)
        prefix = ()
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                pytest.skip("running as root without setpriv: root reads a chmod 000 file")
            prefix = ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
        result = _run("status", "--db", str(db), prefix=prefix, cwd=folder)
        _assert_refused(result, "status", db, "cannot be read: permission denied", before)
    finally:
        shutil.rmtree(folder)


@pytest.mark.parametrize("command, text, expected", [
    ("status", "[warehouse\ndb = 'x'\n", "not a readable TOML file: "),
    ("app", "[warehouse]\ndb = 5\n", "[warehouse] db: input should be a valid string, found 5"),
])
def test_a_broken_config_is_named_in_one_line(tmp_path, text, expected, command):
    config = tmp_path / "citybench.toml"
    config.write_text(text)
    before = _state(tmp_path)
    result = _run(command, cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"citybench {command}: {config.name}: {expected}")
    assert _state(tmp_path) == before


@pytest.mark.parametrize("case", ["truncated-past-catalog"])
def test_the_app_shows_one_error_line_not_a_traceback(broken, case, monkeypatch):
    monkeypatch.setenv("CITYBENCH_DB", str(broken[case]))
    app = AppTest.from_string(
        "from app import ui\nsnap = ui.published()\nimport streamlit as st\n"
        "st.write('no snapshot' if snap is None else 'served')\n").run(timeout=30)
    assert not app.exception
    assert [e.value for e in app.error] == [f"{broken[case]} {CASES[case]}"]
    assert [m.value for m in app.markdown] == ["no snapshot"]
