"""Published versions: the last N are kept beside the published file, `citybench history` lists
them, and `citybench rollback` publishes one again, atomically, as a new version.

Versions are built cheaply: modified copies of the session's `published` warehouse, published
through the real `next_version`, as a refresh publishes, without running refreshes.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, citybench, cli_env, copy_of, query
from warehouse.connect import checkpoint, open_read_write
from warehouse.publish import kept_versions, next_version, record_publication, staging_files

KEEP = 3
LAST = 5  # version 1 (the fixture) and four more: N + 2 publications in all


def _publish_modified(db: Path, step: int) -> None:
    """A new version in which eurostat's values moved and its load says how many rows."""
    with next_version(db, keep=KEEP) as staging:
        con = open_read_write(staging)
        try:
            changed = con.execute("UPDATE observation SET value = value + ? "
                                  "WHERE source_id = 'eurostat'", [step]).fetchone()[0]
            con.execute("""INSERT INTO "load" (load_id, source_id, started_at, finished_at,
                                status, rows_read, rows_loaded, rows_changed, rows_rejected)
                           SELECT max(load_id) + 1, 'eurostat', now(), now(), 'success',
                                  ?, ?, ?, 0 FROM "load" """, [changed, changed, changed])
            record_publication(con, None, f"test version {step}")
            checkpoint(con)
        finally:
            con.close()


@pytest.fixture(scope="module")
def versions(published, tmp_path_factory) -> Path:
    """Versions 1 to 5 of a warehouse restricted to 640, keeping 3."""
    db = copy_of(published, tmp_path_factory.mktemp("versions"))
    os.chmod(db, 0o640)
    for step in range(2, LAST + 1):
        _publish_modified(db, step)
    return db


@pytest.fixture
def versions_copy(versions, tmp_path) -> Path:
    """The versions above, to change: the published file and its kept versions."""
    shutil.copytree(versions.parent, tmp_path / "w")
    return tmp_path / "w" / versions.name


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "citybench.toml"
    path.write_text(text)
    return path


def _env(prefect, tmp_path: Path, keep: int = KEEP) -> dict[str, str]:
    config = _config(tmp_path, f"[warehouse]\nkeep_versions = {keep}\n")
    return cli_env(prefect, CITYBENCH_CONFIG=str(config))


def _table_hashes(db: Path) -> dict[str, tuple]:
    """Every table's rows and the XOR of its rows' hashes, but `publication`, which a
    rollback extends."""
    tables = [name for (name,) in query(db, "SELECT table_name FROM information_schema.tables "
                                            "WHERE table_type = 'BASE TABLE'")]
    return {name: query(db, f'SELECT count(*), bit_xor(hash(t)) FROM "{name}" t')[0]
            for name in tables if name != "publication"}


def _access(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return stat.S_IMODE(status.st_mode), status.st_uid, status.st_gid


def test_the_last_n_versions_are_kept_with_the_published_files_access(versions):
    kept = kept_versions(versions)
    assert sorted(kept) == [LAST - 2, LAST - 1]  # with the published one, KEEP in all
    assert query(versions, "SELECT max(version) FROM publication") == [(LAST,)]
    for number, path in kept.items():
        assert query(path, "SELECT max(version) FROM publication") == [(number,)]
        assert _access(path) == _access(versions) == (0o640, os.getuid(), os.getgid())
    assert staging_files(versions) == []


def test_history_lists_the_kept_versions_as_their_files_record_them(versions, prefect,
                                                                    tmp_path):
    result = citybench("history", "--db", str(versions), "--format", "json",
                       env=_env(prefect, tmp_path))
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [v["version"] for v in listed] == [5, 4, 3]
    assert [v["current"] for v in listed] == [True, False, False]
    runs = query(versions, "SELECT framework_id, score_run_id FROM score_run ORDER BY 1")
    for entry in listed:
        file = Path(entry["file"])
        (at, summary), = query(file, "SELECT strftime(published_at AT TIME ZONE 'UTC', "
                                     "'%Y-%m-%dT%H:%M:%S.%f'), summary FROM publication "
                                     "WHERE version = ?", [entry["version"]])
        assert entry["published_at"].startswith(at) and entry["summary"] == summary
        eurostat = query(file, "SELECT count(*) FROM observation WHERE source_id = 'eurostat'")
        assert entry["sources_changed"] == ["eurostat"]
        assert entry["rows_changed"] == eurostat[0][0]
        # no score run is new: the test changed values, not what a refresh would rescore
        assert [(r["framework_id"], r["score_run_id"], r["new"]) for r in entry["score_runs"]] \
            == [(*run, False) for run in runs]

    table = citybench("history", "--db", str(versions), env=_env(prefect, tmp_path))
    lines = table.stdout.splitlines()
    assert lines[1].split()[:2] == ["*", "5"] and lines[2].split()[0] == "4"
    assert f"{entry['rows_changed']:,}" in lines[3]


def test_rollback_publishes_the_old_content_as_a_new_version_readers_see_whole(
        versions_copy, prefect, tmp_path):
    db = versions_copy
    old = kept_versions(db)[3]
    expected = _table_hashes(old)
    before = _table_hashes(db)
    assert expected != before
    # a reader opens, reads and closes the published file as fast as it can meanwhile
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", _READER, str(db), str(stop)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "reading"
    result = citybench("rollback", "3", "--reason", "eurostat values\nwrong", "--db", str(db),
                       env=_env(prefect, tmp_path))
    stop.touch()
    seen = reader.communicate(timeout=30)[0].split()
    assert result.returncode == 0, result.stderr
    assert "published version 6" in result.stdout and "content of version 3" in result.stdout

    assert _table_hashes(db) == expected
    assert query(db, "SELECT version, flow_run_id IS NULL, summary LIKE 'test version%' "
                     "FROM publication WHERE version > 1 ORDER BY version") == [
        (2, True, True), (3, True, True), (4, True, True), (5, True, True), (6, True, False)]
    assert query(db, "SELECT summary FROM publication WHERE version = 6") == [
        ("rollback to version 3: eurostat values wrong",)]
    assert sorted(kept_versions(db)) == [4, 5]  # KEEP from the config file, the new one counted
    assert _access(db) == (0o640, os.getuid(), os.getgid())
    assert staging_files(db) == []
    # every read saw version 5 or version 6 whole, never a failure or a mix
    observations = {5: before["observation"], 6: expected["observation"]}
    assert seen and not [line for line in seen if line.startswith("failed")], seen
    reads = [tuple(int(part) for part in line.split(",")) for line in seen]
    assert {version for version, _, _ in reads} <= {5, 6}, seen
    assert all((count, digest) == observations[version] for version, count, digest in reads)

    history = json.loads(citybench("history", "--db", str(db), "--format", "json",
                                   env=_env(prefect, tmp_path)).stdout)
    assert [(v["version"], v["current"]) for v in history] == [(6, True), (5, False),
                                                               (4, False)]
    assert history[0]["sources_changed"] == [] and history[0]["rows_changed"] == 0


_READER = """
import sys, duckdb
from pathlib import Path
print("reading", flush=True)
while not Path(sys.argv[2]).exists():
    try:
        con = duckdb.connect(sys.argv[1], read_only=True)
        version = con.execute("SELECT max(version) FROM publication").fetchone()[0]
        count, digest = con.execute("SELECT count(*), bit_xor(hash(t)) FROM observation t"
                                    ).fetchone()
        con.close()
    except duckdb.Error as error:
        version, count, digest = "failed", 0, type(error).__name__
    print(f"{version},{count},{digest}", flush=True)
"""


def test_rollback_is_refused_while_a_refresh_writes(versions, prefect, tmp_path):
    before = {path.name: path.stat().st_ino for path in versions.parent.glob("**/*.duckdb")}

    class Aborted(Exception):
        pass

    with pytest.raises(Aborted), next_version(versions, keep=KEEP):  # what a refresh holds
        result = citybench("rollback", "--db", str(versions), env=_env(prefect, tmp_path))
        raise Aborted
    assert result.returncode == 1
    assert result.stderr == f"citybench rollback: another refresh is writing {versions}\n"
    assert {p.name: p.stat().st_ino for p in versions.parent.glob("**/*.duckdb")} == before


@pytest.mark.parametrize(("args", "message"), [
    (["99"], "version 99 is not kept (kept: 3, 4)"),
    (["5"], "version 5 is the published one"),
])
def test_an_unknown_version_is_one_line_and_changes_nothing(versions, prefect, tmp_path,
                                                           args, message):
    before = {path.name: path.stat().st_ino for path in versions.parent.glob("**/*.duckdb")}
    result = citybench("rollback", *args, "--db", str(versions), env=_env(prefect, tmp_path))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"citybench rollback: {versions}: {message}\n"
    assert {p.name: p.stat().st_ino for p in versions.parent.glob("**/*.duckdb")} == before


def test_a_bad_keep_versions_setting_is_one_line(versions, prefect, tmp_path):
    result = citybench("history", "--db", str(versions), env=_env(prefect, tmp_path, keep=0))
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1
    assert "[warehouse] keep_versions: input should be greater than or equal to 1" \
        in result.stderr
