"""`citybench status` as cron or a monitor uses it: the exit code (0 fine, 1 a failed last run,
2 stale beyond the publisher's cadence), the JSON document checked against SQL on the
warehouse, and the next run read from a deployment on the Prefect server."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from tests.conftest import cli_env, copy_of, query
from tests.test_broken_files import _env, _run
from warehouse.connect import open_read_write


def _status(db, *extra: str, env=None) -> tuple[int, dict]:
    result = _run("status", "--db", str(db), "--format", "json", *extra, env=env)
    assert result.stderr == ""
    return result.returncode, json.loads(result.stdout)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def test_the_json_document_is_what_the_warehouse_holds(published):
    code, doc = _status(published)
    assert doc["published"]["version"] == query(published,
                                                "SELECT max(version) FROM publication")[0][0]
    sources = {s["source_id"]: s for s in doc["sources"]}
    expected = query(published, """
        SELECT s.source_id, max(l.finished_at) FILTER (WHERE l.status = 'success'),
               s.snapshot, s.dataset_version, s.cadence_days, s.frozen_since
        FROM source s LEFT JOIN "load" l USING (source_id) GROUP BY ALL""")
    assert set(sources) == {row[0] for row in expected}
    for source_id, success, snapshot, vintage, cadence, frozen in expected:
        got = sources[source_id]
        assert _time(got["last_success"]) == success
        assert (got["starter_snapshot"], got["vintage"]) == (snapshot, vintage)
        assert (got["cadence_days"], got["frozen_since"]) == (cadence, frozen)
        assert got["last_failure"] is None and got["next_run"] is None
    held = dict(query(published, "SELECT source_id, count(*) FROM (SELECT source_id FROM "
                                 "observation UNION ALL SELECT source_id FROM membership "
                                 "UNION ALL SELECT source_id FROM city_link) GROUP BY 1"))
    assert {k: s["rows_held"] for k, s in sources.items()} == {k: held.get(k, 0)
                                                                 for k in sources}
    # The starter's files are older than the cadence of their publishers (today: Eurostat,
    # GeoNames, WUP); data frozen by their publisher are stale but raise no alert.
    old = {row[0] for row in query(published, """
        SELECT source_id FROM source WHERE cadence_days IS NOT NULL
        AND date_diff('day', retrieved_at, now()) > cadence_days""")}
    assert old and {k for k, s in sources.items() if s["stale_beyond_limit"]} == old
    assert sources["openflights"]["stale"] and not sources["openflights"]["stale_beyond_limit"]
    assert code == doc["exit_code"] == 2


def test_exit_codes_follow_failures_and_freshness(published, tmp_path):
    db = copy_of(published, tmp_path)
    con = open_read_write(db)
    try:  # every publisher's files retrieved today: fresh
        con.execute("UPDATE source SET retrieved_at = now()")
        con.execute("UPDATE dataset SET last_update = strftime(now(), '%Y-%m-%d')")
    finally:
        con.close()
    code, doc = _status(db)
    assert code == doc["exit_code"] == 0
    assert not any(s["stale_beyond_limit"] for s in doc["sources"])

    def load(status: str, error: str | None) -> None:
        con = open_read_write(db)
        try:
            con.execute("""
                INSERT INTO "load" SELECT * REPLACE (
                    (SELECT max(load_id) + 1 FROM "load") AS load_id, now() AS finished_at,
                    $status AS status, $error AS error)
                FROM "load" WHERE source_id = 'eurostat' ORDER BY load_id DESC LIMIT 1
            """, {"status": status, "error": error})
        finally:
            con.close()

    load("failed", "HTTP 503 from ec.europa.eu")
    result = _run("status", "--db", str(db), env=_env())
    assert result.returncode == 1, result.stdout
    assert "    last run FAILED at " in result.stdout
    assert result.stdout.rstrip().endswith(
        "status: ALERT (exit 1): last run failed: eurostat")
    assert "HTTP 503 from ec.europa.eu" in result.stdout

    load("success", None)  # the next run succeeded: no alert, the failure still told
    code, doc = _status(db)
    eurostat = next(s for s in doc["sources"] if s["source_id"] == "eurostat")
    failed_at = query(db, "SELECT max(finished_at) FROM \"load\" WHERE status = 'failed'")[0][0]
    assert eurostat["last_failure"] == {"finished_at": failed_at.isoformat(),
                                        "reason": "HTTP 503 from ec.europa.eu"}
    assert code == doc["exit_code"] == 0


def test_the_next_run_comes_from_the_sources_deployment(published, prefect):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule

    async def deploy():
        async with get_client() as client:
            flow_id = await client.create_flow_from_name("refresh")
            return await client.create_deployment(
                flow_id=flow_id, name="status-test-eurostat-monthly",
                parameters={"sources": ["eurostat"]}, schedules=[DeploymentScheduleCreate(
                    schedule=CronSchedule(cron="0 3 1 * *", timezone="UTC"))])

    async def remove(deployment_id):
        async with get_client() as client:
            await client.delete_deployment(deployment_id)

    deployment = asyncio.run(deploy())
    try:
        code, doc = _status(published, env=cli_env(prefect))
    finally:
        asyncio.run(remove(deployment))
    now = _time(doc["checked_at"])
    month = now.replace(day=1, hour=3, minute=0, second=0, microsecond=0)
    if month <= now:
        month = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
    runs = {s["source_id"]: (s["next_run"], s["deployment"]) for s in doc["sources"]}
    assert runs.pop("eurostat") == (month.isoformat(), "status-test-eurostat-monthly")
    assert set(runs.values()) == {(None, None)}
    assert doc["scheduler"] == {"api_url": prefect.api_url, "error": None}
    assert code == 2


def test_status_help_states_the_exit_codes():
    text = " ".join(_run("status", "--help").stdout.split())
    assert "exit status: 0 every source's last run succeeded and none is stale; 1 a source's " \
        "last run failed" in text
    assert "; 2 a source's data are older than the cadence its publisher states" in text
