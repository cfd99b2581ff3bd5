"""`citybench serve`: a real serve process with the Prefect server it starts and supervises,
a run triggered through that server's API that publishes, `citybench status` reading the next
run from it, SIGTERM and SIGKILL leaving no process behind; and, in this process, the
[schedules] settings and the "unchanged, kept" loads."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.pipeline import input_sha256
from flows.server import ServerFailed, local_server
from flows.sources.catalog import build, read_config
from flows.transport import Offline
from tests.conftest import ROOT, citybench_bin, cli_env, copy_of, load, query
from warehouse import store
from warehouse.config import Config, ConfigError
from warehouse.connect import open_read_write

# Only the group the test triggers; the default groups turned off (`sources = []`).
CONFIG = """
[warehouse]
db = "data/cb.duckdb"
[schedules.offline]
cron = "0 0 1 1 *"
sources = ["geonames"]
""" + "".join(f"[schedules.{name}]\nsources = []\n"
              for name in ("geonames", "links", "eurostat", "indicators", "un-wup", "networks"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return found


def _api(url: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{url}{path}", data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="GET" if body is None else "POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _found(url: str, path: str) -> dict | None:
    """The answer, or None while there is none yet (404) or the server is busy (503: its
    SQLite database is locked on a loaded machine)."""
    try:
        return _api(url, path)
    except urllib.error.HTTPError as error:
        if error.code in {404, 503}:
            return None
        raise


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in found.read_text().split()] if found.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; only its parent has not collected it yet


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def folder(tmp_path, registry, prefect) -> tuple[Path, dict[str, str]]:
    """A data folder holding a GeoNames warehouse, its config file, and the environment of
    a user without PREFECT_API_URL (serve starts its own server)."""
    (tmp_path / "data").mkdir()
    copy_of(registry, tmp_path / "data").rename(tmp_path / "data" / "cb.duckdb")
    (tmp_path / "citybench.toml").write_text(CONFIG)
    env = cli_env(prefect, CITYBENCH_CONFIG=str(tmp_path / "citybench.toml"),
                  PREFECT_RUNNER_POLL_FREQUENCY="1")
    del env["PREFECT_API_URL"]
    return tmp_path, env


def _serve(folder: Path, env: dict[str, str], port: int) -> tuple[subprocess.Popen, Path]:
    out = folder / f"serve-{port}.out"
    with out.open("w") as sink:
        process = subprocess.Popen([citybench_bin(), "serve", "--port", str(port)], env=env,
                                   stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
    return process, out


def test_serve_runs_publishes_shows_next_runs_and_stops_cleanly(folder):
    path, env = folder
    db = path / "data" / "cb.duckdb"
    port = _free_port()
    started = time.monotonic()
    serve, out = _serve(path, env, port)
    try:
        _until(lambda: "healthy in" in out.read_text(), 90, out)
        ready = time.monotonic() - started
        server = _children(serve.pid)
        assert len(server) == 1 and (path / "data" / "prefect" / "prefect.db").is_file()
        url = f"http://127.0.0.1:{port}/api"
        # the UI's pages ask this server's API, not the default port's
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ui-settings", timeout=5) as ui:
            assert json.loads(ui.read())["api_url"] == url
        # the runner registers the deployment once it has started
        deployment = _until(lambda: _found(url, "/deployments/name/refresh/offline"), 30,
                            "the deployment")
        registered = time.monotonic() - started
        assert deployment["parameters"] == {"db": str(db), "sources": ["geonames"],
                                            "mirror": None}
        assert deployment["tags"] == ["geonames"]
        run = _api(url, f"/deployments/{deployment['id']}/create_flow_run", {})
        triggered = time.monotonic()
        final = _until(lambda: (found := _found(url, f"/flow_runs/{run['id']}")) and found[
            "state"]["type"] in {"COMPLETED", "FAILED", "CRASHED"} and found["state"], 120,
                       "the run")
        took = time.monotonic() - triggered
        assert final["type"] == "COMPLETED", final["message"]
        status = subprocess.run([citybench_bin(), "status", "--db", str(db), "--format", "json"],
                                env={**env, "PREFECT_API_URL": url}, capture_output=True,
                                text=True, timeout=60)
        document = json.loads(status.stdout)
        print(f"serve: healthy {ready:.1f} s, deployment registered {registered:.1f} s after "
              f"start; triggered run {took:.1f} s")
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(30)
    assert code == 0, out.read_text()
    assert "Traceback" not in out.read_text()
    assert not any(_alive(pid) for pid in server) and not _port_open(port)
    # the run published a new version in which the unchanged GeoNames files were kept
    assert query(db, "SELECT max(version) FROM publication")[0][0] == 1
    (rows_read, changed, kept_hash), = query(
        db, 'SELECT rows_read, rows_changed, input_sha256 FROM "load" WHERE flow_run_id = ?',
        [run["id"]])
    assert (rows_read, changed) == (0, 0)
    assert kept_hash == query(db, 'SELECT input_sha256 FROM "load" WHERE load_id = 1')[0][0]
    (geonames,) = [s for s in document["sources"] if s["source_id"] == "geonames"]
    assert geonames["deployment"] == "offline", document
    assert datetime.fromisoformat(geonames["next_run"]) == datetime(
        datetime.now(UTC).year + 1, 1, 1, tzinfo=UTC)


def test_a_killed_serve_leaves_no_server(folder):
    path, env = folder
    port = _free_port()
    serve, _ = _serve(path, env, port)
    server = _until(lambda: _children(serve.pid), 30, "the server's process")
    serve.kill()
    serve.wait()
    _until(lambda: not any(_alive(pid) for pid in server), 10, "the server to end")
    assert not _port_open(port)


def test_a_port_in_use_is_one_line(tmp_path):
    """In this process: the check comes before any server is started."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerFailed) as error, local_server(tmp_path / "prefect", port):
            pass
    assert str(error.value) == (
        f"port {port} on 127.0.0.1 is in use by another program: choose another with --port, "
        "or name a server in PREFECT_API_URL")
    assert not (tmp_path / "prefect").exists()


@pytest.mark.parametrize(("text", "problem"), [
    ('[schedules.geonames]\ncron = "0 25 * * *"', "[schedules.geonames] cron: '25' is not a "
     "hour (0-23)"),
    ('[schedules.x]\ncron = "0 3 * *"\nsources = ["geonames"]', "[schedules.x] cron: '0 3 * *'"
     " is not a cron expression"),
    ('[schedules.x]\ncron = "@weekly"\nsources = ["atlantis"]', "[schedules.x] sources: "
     "unknown source 'atlantis'"),
    ("[schedules]\nretries = -1", "[schedules] retries: input should be greater than or equal "
     "to 0"),
])
def test_bad_schedules_are_one_line_naming_the_key(tmp_path, text, problem):
    (tmp_path / "citybench.toml").write_text(text)
    with pytest.raises(ConfigError) as error:
        read_config(tmp_path / "citybench.toml")
    assert problem in str(error.value) and "\n" not in str(error.value)


def test_groups_merge_over_the_defaults(tmp_path):
    (tmp_path / "citybench.toml").write_text(
        '[schedules]\nretry_delay_seconds = 10\n[schedules.eurostat]\ncron = "*/5 1-3 * jan-mar '
        'mon,fri"\n[schedules.links]\nsources = []\n[schedules.mine]\ncron = "@daily"\n'
        'sources = ["starter"]\n')
    settings = read_config(tmp_path / "citybench.toml").schedules
    served = settings.served()
    assert served["eurostat"].sources == ["eurostat"]
    assert served["eurostat"].cron == "*/5 1-3 * jan-mar mon,fri"
    assert "links" not in served and served["mine"].sources == ["starter"]
    assert served["geonames"].cron == Config().schedules.groups["geonames"].cron
    assert "starter" not in {s for g in Config().schedules.served().values() for s in g.sources}
    assert settings.delays(3) == [10, 20, 40]


def test_an_unchanged_source_is_kept_not_loaded_again(registry, tmp_path):
    db = copy_of(registry, tmp_path)
    report = load(db, build("geonames", Config()))
    assert report.unchanged and report.line().startswith("geonames: unchanged, kept")
    first, second = query(db, 'SELECT rows_read, rows_changed, input_sha256, status FROM "load"'
                              " ORDER BY load_id")
    assert first[0] > 0 and second[:2] == (0, 0) and second[2:] == first[2:]
    assert report.rows_loaded == query(db, "SELECT count(*) FROM observation")[0][0]
    # a registry that changed after it means its records may resolve otherwise: loaded again
    con = open_read_write(db)
    try:
        assert store.unchanged_input(con, "geonames") == first[2]
        con.execute("""INSERT INTO "load" (load_id, source_id, started_at, finished_at, status,
                       rows_read, rows_loaded, rows_changed, rows_rejected)
                       VALUES (9, 'geonames-dump', now(), now(), 'success', 1, 1, 1, 0)""")
        con.execute("INSERT INTO city_alias VALUES ('geonames', '1', 'gn:1', 'id', 1, "
                    "'geonames-dump')")
        assert store.unchanged_input(con, "geonames") is None
    finally:
        con.close()


def test_the_input_hash_follows_files_and_settings():
    source = build("geonames", Config())
    extracted = source.extract(Offline())
    other = type(source)(type(source.settings).model_validate({"max_rejected_share": 0.5}))
    assert input_sha256(source, extracted) == input_sha256(source, extracted)
    assert input_sha256(other, extracted) != input_sha256(source, extracted)
    changed = type(extracted)({**extracted.files, "extra": b"x"}, extracted.dataset_version,
                              extracted.retrieved_at)
    assert input_sha256(source, changed) != input_sha256(source, extracted)

