"""Honest run states: a refresh in which a source failed is Failed (named Partial) in Prefect,
exits 1 and says which source, in the words `citybench status` and the app use, while what
loaded is published; a refresh refused for a warehouse being written answers in one line; a
killed refresh's run does not stay RUNNING; and a file a mirror links to is quoted in an error
by a short, redacted excerpt only."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from flows.sources.openflights import OpenFlights
from flows.transport import mirror_path
from tests.conftest import ROOT, citybench, cli_env, copy_of, query
from warehouse.parse_error import EXCERPT_CHARS, ParseError
from warehouse.publish import next_version
from warehouse.redact import redact_text

SECRET_LINE = "TOPSECRET-LINE-1 password=hunter2 and the rest of a long line of secrets"
FAILURE = "1 source(s) failed (openflights); the others were published"


def _last_error(db: Path, source_id: str) -> str | None:
    return query(db, 'SELECT error FROM "load" WHERE source_id = ? ORDER BY load_id DESC '
                     "LIMIT 1", [source_id])[0][0]


def _flow_runs(db: Path) -> dict[str, object]:
    """The refresh flow runs Prefect holds for the warehouse `db`, by their id."""
    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            return {str(run.id): run for run in await client.read_flow_runs()
                    if run.parameters.get("db") == str(db)}

    return asyncio.run(read())


def _killed_run(db: Path, tag: str) -> str:
    """A flow run of a refresh of `db` left RUNNING, as a SIGKILLed refresh leaves it."""
    from prefect.client.orchestration import get_client
    from prefect.states import Running

    from flows.refresh import refresh

    async def create():
        async with get_client() as client:
            run = await client.create_flow_run(refresh, parameters={"db": str(db)},
                                               state=Running(), tags=[tag])
            return str(run.id)

    return asyncio.run(create())


@pytest.fixture(scope="module")
def partial(published, prefect, tmp_path_factory):
    """One refresh of a copy of the published warehouse: the user's file loads; OpenFlights
    fails, its mirror's files being links to a file of secrets outside the mirror. Before it,
    a run of a killed refresh of the same warehouse is RUNNING, and one of another host."""
    from flows.refresh import HOST_TAG

    folder = tmp_path_factory.mktemp("partial")
    db = copy_of(published, folder)
    secrets = folder / "elsewhere" / "secrets.txt"
    secrets.parent.mkdir()
    secrets.write_text(f"{SECRET_LINE}\nSECOND-LINE token=abc123\n")
    for url in OpenFlights.urls.values():
        link = mirror_path(folder / "mirror", url)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(secrets)
    config = folder / "citybench.toml"
    config.write_text(f'[sources.user]\nfiles = ["{ROOT / "tests/data/user/good.csv"}"]\n')
    killed = _killed_run(db, HOST_TAG)
    elsewhere = _killed_run(db, "host:another-machine")
    result = citybench("refresh", "--source", "user", "--source", "openflights", "--mirror",
                       str(folder / "mirror"), "--db", str(db),
                       env=cli_env(prefect, CITYBENCH_CONFIG=str(config)))
    return db, result, killed, elsewhere


def test_a_failed_source_fails_the_run_and_the_rest_is_published(partial, published):
    db, result, killed, elsewhere = partial
    assert result.returncode == 1, result.stdout + result.stderr
    # the command's word, Prefect's state and its message say the same
    said = [line for line in result.stderr.splitlines() if line.startswith("citybench")]
    assert said == [f"citybench refresh: {FAILURE}"]
    assert "user: 3 held after this load" in result.stdout
    statuses = dict(query(db, 'SELECT source_id, arg_max(status, load_id) FROM "load" '
                              "GROUP BY source_id"))
    assert statuses["user"] == "success" and statuses["openflights"] == "failed"
    version = query(published, "SELECT max(version) FROM publication")[0][0]
    assert query(db, "SELECT max(version) FROM publication")[0][0] == version + 1
    assert query(db, "SELECT count(*) FROM observation WHERE source_id = 'user'")[0][0] == 3
    (run,) = [r for key, r in _flow_runs(db).items() if key not in (killed, elsewhere)]
    assert (run.state_type.value, run.state_name, run.state.message) == (
        "FAILED", "Partial", FAILURE)
    # a user sees what citybench means to say: no numpy warning escapes a refresh
    assert "RuntimeWarning" not in result.stdout + result.stderr


def test_status_names_the_failed_source_with_the_same_reason(partial, capsys):
    from app.cli import main

    db, _, _, _ = partial
    error = _last_error(db, "openflights")
    assert main(["status", "--db", str(db)]) == 1
    shown = capsys.readouterr().out
    assert "last run FAILED at " in shown and f": {error}" in shown
    assert "last run failed: openflights" in shown


def test_a_file_a_mirror_links_to_is_quoted_short_and_redacted(partial):
    db, result, _, _ = partial
    error = _last_error(db, "openflights")
    quoted = re.fullmatch(r"airports\.dat, line 1: expected \d+ fields, found '(.*)'", error)
    assert quoted, error
    assert len(quoted[1]) <= EXCERPT_CHARS and quoted[1].startswith("1 fields: TOPSECRET")
    for shown in (error, result.stdout, result.stderr):
        assert "hunter2" not in shown and "SECOND-LINE" not in shown and "abc123" not in shown


def test_a_killed_refreshs_run_is_marked_crashed_by_the_next(partial):
    db, _, killed, elsewhere = partial
    runs = _flow_runs(db)
    assert runs[killed].state_type.value == "CRASHED"
    assert "later refresh of the same warehouse" in runs[killed].state.message
    assert runs[elsewhere].state_type.value == "RUNNING"  # another host's refresh: not ours


@pytest.fixture(scope="module")
def being_written(published, tmp_path_factory):
    """A warehouse another refresh is writing: its lock held for the module's tests."""
    db = copy_of(published, tmp_path_factory.mktemp("being-written"))
    with next_version(db):
        yield db


def test_a_refresh_of_a_warehouse_being_written_answers_in_one_line(being_written, prefect):
    db = being_written
    result = citybench("refresh", "--db", str(db), env=cli_env(prefect), timeout=60)
    assert result.returncode == 1
    assert result.stderr == f"citybench refresh: another refresh is writing {db}\n"
    assert result.stdout == ""


def test_a_refresh_that_loses_the_race_for_the_lock_is_failed_without_a_traceback(
        being_written, prefect, capfd):
    """Two refreshes starting at once both pass the command's check; the second then finds
    the lock taken inside its flow run, which ends Failed with the reason."""
    from flows.refresh import refresh

    db = being_written
    state = refresh(db=str(db), sources=["geonames"], return_state=True)
    assert state.type.value == "FAILED"
    assert state.message == f"another refresh is writing {db}"
    assert "Traceback" not in "".join(capfd.readouterr())


@pytest.mark.parametrize(("found", "shown"), [
    ("1 fields: TOPSECRET-LINE-1 password=hunter2", "1 fields: TOPSECRET-LINE-1 password=***"),
    ("api_key = abc, token=\"q r\" PWD='x'", "api_key = ***, token=*** PWD=***"),
    ("x" * 100, "x" * (EXCERPT_CHARS - 1) + "…"),
])
def test_a_parse_error_quotes_a_short_redacted_excerpt(found, shown):
    assert str(ParseError("f.csv", "line 1", "3 fields", found)) == (
        f"f.csv, line 1: expected 3 fields, found {shown!r}")


def test_ordinary_pairs_and_urls_keep_their_values():
    text = "passenger=3 keys: 4 https://x.example/y?format=csv&page=2 monkey_business=no"
    assert redact_text(text) == text


def test_a_refresh_by_hand_on_a_shared_server_takes_the_warehouses_slot_or_is_refused(
        published, prefect, tmp_path):
    """On a Prefect server that `citybench serve` shares, a refresh by hand holds the
    warehouse's concurrency slot as a scheduled run does (which then waits for it); while a
    scheduled run holds it, the refresh by hand is refused at once, in one line."""
    from prefect import get_client
    from prefect.concurrency.sync import concurrency

    from flows.concurrency import LEASE_SECONDS, ensure_limit, limit_name

    db = copy_of(published, tmp_path)
    version = query(db, "SELECT max(version) FROM publication")[0][0]
    name = limit_name(str(db))
    ensure_limit(name)
    with concurrency(name, occupy=1, lease_duration=LEASE_SECONDS, strict=True):
        refused = citybench("refresh", "--db", str(db), env=cli_env(prefect), timeout=120)
    assert refused.returncode == 1
    said = [line for line in refused.stderr.splitlines() if line.startswith("citybench")]
    assert said == [f"citybench refresh: another refresh of {db} holds its concurrency slot "
                    f"{name} (a scheduled run, or one killed less than {LEASE_SECONDS} s ago): "
                    "try again when it ends"]
    assert "Traceback" not in refused.stderr and "GlobalEventLoopThread" not in refused.stderr
    assert query(db, "SELECT max(version) FROM publication")[0][0] == version
    done = citybench("refresh", "--db", str(db), env=cli_env(prefect))
    assert done.returncode == 0, done.stderr
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(name)
    assert (limit.limit, limit.active_slots) == (1, 0)  # taken, and given back
    assert query(db, "SELECT max(version) FROM publication")[0][0] == version + 1
