"""`citybench refresh --dask-address`: the sources' extract and parse run on a Dask cluster's
workers (a real LocalCluster on 127.0.0.1), the rest in the flow's process, and the warehouse
published is the one a refresh without Dask publishes. Cheap on purpose: the small synthetic
warehouse of tests/app_fixtures.py and a user file of its cities; the refresh runs in this
process against the session's Prefect API (`prefect`), as `citybench refresh` runs it."""

from __future__ import annotations

import pickle
import socket

import pytest

from flows.cli import refresh_main
from flows.pipeline import make_transport
from flows.sources.catalog import build, read_config
from tests.app_fixtures import build_warehouse
from tests.conftest import query, refresh

USER_FILE = """city,country,indicator,period,value,unit
gn:2643743,,bike_lanes_km,2022,1012.5,km
gn:2950159,,bike_lanes_km,2022,1100,km
gn:1850147,,bike_lanes_km,2023,640,km
Atlantis,GB,bike_lanes_km,2023,7,km
"""


@pytest.fixture
def user_config(tmp_path, monkeypatch):
    """A config file whose user source is one small file of the synthetic warehouse's cities
    (and one city it does not have)."""
    (tmp_path / "bikes.csv").write_text(USER_FILE)
    config = tmp_path / "citybench.toml"
    config.write_text(f'[sources.user]\nfiles = ["{tmp_path / "bikes.csv"}"]\n')
    monkeypatch.setenv("CITYBENCH_CONFIG", str(config))
    return read_config()


def _warehouse(folder):
    folder.mkdir()
    return build_warehouse(folder / "cb.duckdb").path


def _tables(db) -> dict[str, int]:
    """Row counts of every table, and the new load's outcome, as the app and status read them."""
    names = [name for (name,) in query(db, "SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'main' ORDER BY 1")]
    counts = {name: query(db, f'SELECT count(*) FROM "{name}"')[0][0] for name in names}
    loads = query(db, 'SELECT source_id, status, rows_read, rows_loaded, rows_changed, '
                      'rows_rejected, records_unresolved FROM "load" ORDER BY load_id')
    return {**counts, "loads": loads}


def test_extract_and_parse_run_on_the_cluster_and_publish_the_same(prefect, tmp_path,
                                                                     user_config):
    import distributed

    plain = _warehouse(tmp_path / "plain")
    refresh(plain, [build("user", user_config)])
    db = _warehouse(tmp_path / "dask")
    # worker threads, not processes: a worker process would import Prefect (seconds) before
    # its first task; what crosses to a process is pickled, which the next test checks
    with distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1,
                                  processes=False, protocol="tcp", dashboard_address=":0"
                                  ) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        with distributed.get_task_stream(client) as stream:  # what the workers ran
            code = refresh_main(["--source", "user", "--db", str(db),
                                 "--dask-address", cluster.scheduler_address])
        workers = set(cluster.scheduler_info["workers"])
    assert code == 0
    # one extract and one parse per source, each on a worker of the cluster; nothing else
    # (validate, load, publish: in the flow's process)
    ran = sorted((task["key"].split("-")[0], task["worker"]) for task in stream.data)
    assert [name for name, _ in ran] == ["extract", "parse"], ran
    assert {worker for _, worker in ran} <= workers
    assert query(db, "SELECT count(*) FROM observation WHERE source_id = 'user'")[0][0] == 3
    assert _tables(db) == _tables(plain)


def test_a_source_and_its_transport_reach_a_worker_process_whole(tmp_path, user_config):
    """A worker process gets the task's arguments by pickle: the HTTP transport with a
    connection pool of its own, the source with its settings."""
    transport = make_transport(tmp_path / "cb.duckdb", None)
    source, copy = pickle.loads(pickle.dumps((build("user", user_config), transport)))
    assert copy.client is not None and copy.client is not transport.client
    assert (copy.cache_dir, copy.limits) == (transport.cache_dir, transport.limits)
    assert source.settings == build("user", user_config).settings


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "http://127.0.0.1:8786",
                                     "tcp://127.0.0.1:99999", "tcp://:8786/x"])
def test_a_malformed_address_is_one_line(address, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        refresh_main(["--db", str(tmp_path / "cb.duckdb"), "--dask-address", address])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(lines) == 1, lines
    assert "is not of the form tcp://HOST:PORT" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_scheduler_is_one_line_and_nothing_is_written(tmp_path):
    db = tmp_path / "cb.duckdb"
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SystemExit) as exited:
        refresh_main(["--db", str(db), "--dask-address", f"tcp://127.0.0.1:{port}"])
    message = str(exited.value.code)
    assert message.startswith(f"citybench refresh: no Dask scheduler answers at "
                              f"tcp://127.0.0.1:{port}: ") and "\n" not in message
    assert list(tmp_path.iterdir()) == []
