"""Webhooks: a refresh in which a source failed, and `citybench status --notify` on failed or
stale sources, POST one JSON body to a real receiver on 127.0.0.1; the webhook's URL and a
user file's credentials show nowhere (output, status, warehouse, Prefect's records); a webhook
that refuses or is down costs one warning line and changes no exit code."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from flows.notify import notify_failed
from flows.pipeline import LoadReport, RefreshSummary
from tests.conftest import citybench, cli_env, copy_of, query, refresh_records
from warehouse.config import ConfigError, NotifySettings, read

# What must never show: the webhook's path and query token, a user file's password and token
HOOK_PATH, HOOK_TOKEN = "S3cretPathTOKEN", "HOOKTOK42"
SECRETS = (HOOK_PATH, HOOK_TOKEN, "S3cretPass", "TOK123ABC")


class Receiver:
    """A webhook on 127.0.0.1: records each POST's path and JSON body and answers `status`;
    any GET (a user file asked for) is a 404."""

    def __init__(self):
        self.status = 200
        self.posts: list[tuple[str, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers["Content-Length"])
                receiver.posts.append((self.path, json.loads(self.rfile.read(length))))
                self._answer(receiver.status)

            def do_GET(self):
                self._answer(404)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.hook = f"{self.base}/hook/{HOOK_PATH}?token={HOOK_TOKEN}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def receiver():
    found = Receiver()
    yield found
    found.stop()


@pytest.fixture(scope="module")
def refreshed(published, prefect, receiver, tmp_path_factory):
    """One refresh of a copy of the published warehouse in which the user's file, behind a URL
    with a password and a token, is not found: the webhook is called once."""
    folder = tmp_path_factory.mktemp("notify")
    db = copy_of(published, folder)
    published = query(db, "SELECT max(version) FROM publication")[0][0]
    config = folder / "citybench.toml"
    user_url = receiver.base.replace("http://", "http://alice:S3cretPass@")
    config.write_text(f'[sources.user]\nfiles = ["{user_url}/files/kpis.csv?token=TOK123ABC"]\n')
    result = citybench("refresh", "--source", "user", "--db", str(db), env=cli_env(
        prefect, CITYBENCH_CONFIG=str(config), CITYBENCH_WEBHOOK_URL=receiver.hook))
    posts, receiver.posts[:] = list(receiver.posts), []
    return db, config, result, posts, published


def test_a_refresh_with_a_failed_source_posts_it_once(refreshed, receiver):
    db, _, result, posts, published = refreshed
    assert result.returncode == 1, result.stderr
    ((path, sent),) = posts
    assert path == f"/hook/{HOOK_PATH}?token={HOOK_TOKEN}"
    error, finished = query(db, """SELECT error, finished_at FROM "load" WHERE source_id = 'user'
                                   ORDER BY load_id DESC LIMIT 1""")[0]
    assert "HTTP 404" in error and "http://***@127.0.0.1:" in error
    version = query(db, "SELECT max(version) FROM publication")[0][0]
    assert version == published + 1  # the other sources are published
    assert (sent["event"], sent["warehouse"], sent["version"]) == (
        "source_failed", str(db), version)
    assert datetime.fromisoformat(sent["time"]) > finished
    assert sent["sources"] == [{"id": "user", "state": "failed", "reason": error,
                                "last_success": None, "vintage": None,
                                "stale_limit_days": None}]
    assert "webhook" not in result.stderr  # delivered: nothing to say


def test_status_notify_posts_every_failed_and_stale_source_in_one_call(refreshed, receiver,
                                                                         monkeypatch, capsys):
    from app.cli import main

    db, config, *_ = refreshed
    monkeypatch.setenv("CITYBENCH_CONFIG", str(config))
    monkeypatch.setenv("CITYBENCH_WEBHOOK_URL", receiver.hook)
    assert main(["status", "--db", str(db), "--format", "json", "--notify"]) == 1
    shown = capsys.readouterr()
    document = json.loads(shown.out)
    assert shown.err == ""
    ((_, sent),) = receiver.posts
    receiver.posts.clear()
    sources = {s["source_id"]: s for s in document["sources"]}
    failed = {key for key, s in sources.items() if s["last_run"]["status"] == "failed"}
    stale = {key for key, s in sources.items() if s["stale_beyond_limit"]}
    assert failed == {"user"} and stale  # the starter's files are older than their cadence
    assert (sent["event"], sent["version"]) == ("source_failed",
                                                document["published"]["version"])
    expected = [{"id": key, "state": "failed" if key in failed else "stale",
                 "reason": (s["last_failure"]["reason"] if key in failed
                            else s["stale_reason"]),
                 "last_success": s["last_success"], "vintage": s["vintage"],
                 "stale_limit_days": s["cadence_days"]}
                for key, s in sources.items() if key in failed | stale]
    assert sent["sources"] == expected


@pytest.mark.parametrize(("answer", "why"), [(500, "HTTP 500"), (None, "Connection refused")])
def test_a_webhook_that_fails_is_one_warning_and_the_exit_code_stays(
        refreshed, receiver, monkeypatch, capsys, answer, why):
    from app.cli import main

    db, config, *_ = refreshed
    monkeypatch.setenv("CITYBENCH_CONFIG", str(config))
    down = "http://127.0.0.1:9/hook/S3cretPathTOKEN?token=HOOKTOK42"  # port 9: nobody listens
    monkeypatch.setenv("CITYBENCH_WEBHOOK_URL", receiver.hook if answer else down)
    monkeypatch.setattr(receiver, "status", answer or 200)
    assert main(["status", "--db", str(db), "--notify"]) == 1
    shown = capsys.readouterr()
    host = receiver.base.removeprefix("http://") if answer else "127.0.0.1:9"
    assert shown.err == (f"citybench status: webhook at {host}: not delivered ({why}); "
                         "the outcome of this command is unchanged\n")
    assert len(receiver.posts) == (2 if answer else 0)  # one retry, no more
    receiver.posts.clear()
    assert shown.out.splitlines()[-1].startswith("status: ALERT (exit 1): last run failed: user")


def test_a_refresh_whose_webhook_refuses_logs_one_warning_and_goes_on(
        refreshed, receiver, monkeypatch, caplog):
    """The refresh's own call (flows/notify.py), on a summary of the refresh above."""
    db, *_ = refreshed
    monkeypatch.setenv("CITYBENCH_WEBHOOK_URL", receiver.hook)
    monkeypatch.setattr(receiver, "status", 503)
    summary = RefreshSummary(str(db), 7, [LoadReport("user", 1, "failed", error="gone")], [],
                             None)
    log = logging.getLogger("citybench.tests.notify")
    with caplog.at_level(logging.WARNING, logger=log.name):
        notify_failed(summary, NotifySettings(), log)
    assert [r.getMessage() for r in caplog.records] == [
        f"webhook at {receiver.base.removeprefix('http://')}: not delivered (HTTP 503); "
        "the outcome of this command is unchanged"]
    assert [sent["version"] for _, sent in receiver.posts] == [7, 7]
    receiver.posts.clear()
    notify_failed(summary, NotifySettings(on_failed=False), log)
    assert receiver.posts == []


def test_a_refresh_reads_the_url_from_a_prefect_secret_block(refreshed, receiver, prefect,
                                                            monkeypatch, caplog):
    from prefect.blocks.system import Secret

    db, *_ = refreshed
    monkeypatch.delenv("CITYBENCH_WEBHOOK_URL", raising=False)
    Secret(value=receiver.hook).save("citybench-test-webhook", overwrite=True)
    summary = RefreshSummary(str(db), 7, [LoadReport("user", 1, "failed")], [], None)
    log = logging.getLogger("citybench.tests.notify")
    with caplog.at_level(logging.WARNING, logger=log.name):
        notify_failed(summary, NotifySettings(webhook_secret_block="citybench-test-webhook"), log)
        notify_failed(summary, NotifySettings(webhook_secret_block="no-such-block"), log)
    assert [(path, sent["event"]) for path, sent in receiver.posts] == [
        (f"/hook/{HOOK_PATH}?token={HOOK_TOKEN}", "source_failed")]
    receiver.posts.clear()
    assert [r.getMessage() for r in caplog.records] == [
        "webhook not called: the Prefect Secret block 'no-such-block' could not be read "
        "(ValueError)"]


def test_the_secrets_show_nowhere(refreshed, receiver, monkeypatch, capsys):
    """Not in the refresh's output, nor status's (text and JSON) with a webhook that fails, nor
    any text column of the warehouse, nor Prefect's records of the run."""
    from app.cli import main

    db, config, result, *_ = refreshed
    monkeypatch.setenv("CITYBENCH_CONFIG", str(config))
    monkeypatch.setenv("CITYBENCH_WEBHOOK_URL", receiver.hook)
    monkeypatch.setattr(receiver, "status", 500)
    shown = [result.stdout, result.stderr]
    for form in ("text", "json"):
        main(["status", "--db", str(db), "--format", form, "--notify"])
        shown.extend(capsys.readouterr())
    receiver.posts.clear()
    # the failed file is named, redacted, with the reason
    assert "user: FAILED - http://***@127.0.0.1:" in result.stdout and "HTTP 404" in result.stdout
    assert _found(shown) == []
    assert _text_columns_holding_secrets(db) == []
    records = _prefect_records(db)
    assert any("user: load failed: http://***@127.0.0.1:" in log for log in records["logs"])
    assert _found([json.dumps(records, default=str)]) == []


def test_a_webhook_url_in_the_config_file_is_refused_without_quoting_it(tmp_path):
    config = tmp_path / "citybench.toml"
    config.write_text(f'[notify]\nwebhook_url = "http://h.example/hook/{HOOK_PATH}"\n')
    with pytest.raises(ConfigError) as refused:
        read(config)
    assert str(refused.value) == (
        f"{config}: [notify] webhook_url: the webhook's URL is a secret and is not read from "
        "the file: set it in the environment variable webhook_url_env names "
        "($CITYBENCH_WEBHOOK_URL by default)")
    config.write_text(f'[notify]\nwebhook_url_env = "http://h.example/hook/{HOOK_PATH}"\n')
    with pytest.raises(ConfigError, match="webhook_url_env: expected the name of an "
                                          "environment variable") as refused:
        read(config)
    assert HOOK_PATH not in str(refused.value)


def _found(texts: list[str]) -> list[str]:
    return [secret for secret in SECRETS if any(secret in text for text in texts)]


def _text_columns_holding_secrets(db: Path) -> list[str]:
    """Every text column of every table of the warehouse (loads, runs, datasets...), searched
    in one query."""
    columns = query(db, "SELECT table_name, column_name FROM information_schema.columns "
                        "JOIN information_schema.tables USING (table_schema, table_name) "
                        "WHERE table_type = 'BASE TABLE' AND data_type = 'VARCHAR'")
    assert ("load", "error") in columns
    searches = " UNION ALL ".join(
        f"""SELECT '{table}.{column}' FROM "{table}" WHERE regexp_matches("{column}", $any)"""
        for table, column in columns)
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted({row[0] for row in con.execute(
            searches, {"any": "|".join(SECRETS)}).fetchall()})
    finally:
        con.close()


def _prefect_records(db: Path) -> dict:
    """What Prefect holds of the refresh of `db`: its parameters, state, logs, task runs'
    states and artifacts."""
    records = refresh_records(db)
    assert records["artifacts"]  # the refresh's tables and reports
    return {"parameters": records["run"].parameters, "state": records["run"].state.message,
            "logs": [log.message for log in records["logs"]],
            "task_states": [t.state.message for t in records["tasks"] if t.state],
            "artifacts": [(a.key, a.description, a.data) for a in records["artifacts"]]}
