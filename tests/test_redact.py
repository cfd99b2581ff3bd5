"""Credentials in URLs never show: user-info and credential-like query values are masked
wherever a URL is shown or stored, and nothing else about the URL changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.sources.user_files import UserFiles
from flows.transport import HttpTransport
from tests.conftest import ROOT, load, query
from tests.http_server import FileServer
from warehouse.redact import redact_text, redact_url

SECRET = "http://alice:S3cretPass@intranet.example/kpis.csv?token=TOK123ABC"


@pytest.mark.parametrize(("url", "shown"), [
    (SECRET, "http://***@intranet.example/kpis.csv?token=***"),
    ("https://bob@host.example/a.csv", "https://***@host.example/a.csv"),
    ("https://x.example/y?api_key=abc&format=csv", "https://x.example/y?api_key=***&format=csv"),
    ("https://s3.example/f?X-Amz-Signature=ab&X-Amz-Credential=cd&X-Amz-Date=2026",
     "https://s3.example/f?X-Amz-Signature=***&X-Amz-Credential=***&X-Amz-Date=2026"),
    ("https://h.example/p?access_token=a&client_secret=b&password=c&sig=d",
     "https://h.example/p?access_token=***&client_secret=***&password=***&sig=***"),
])
def test_credentials_are_masked(url, shown):
    assert redact_url(url) == shown


@pytest.mark.parametrize("url", [
    "https://api.worldbank.org/v2/country?format=json&per_page=400&page=1",
    "https://query.wikidata.org/sparql?query=SELECT+%3Fx+WHERE+%7B%7D&format=json",
    "https://population.un.org/wup/Download/Files/WUP2018-F12-Cities_Over_300K.xls",
    "http://127.0.0.1:8000/files/a.csv?",
])
def test_a_url_without_credentials_stays_as_it_is(url):
    assert redact_url(url) == url


def test_urls_within_a_message_are_masked_and_the_sentence_kept():
    message = f"{SECRET}: HTTP 500 Internal Server Error (after 4 attempt(s)); see {SECRET}."
    assert redact_text(message) == (
        "http://***@intranet.example/kpis.csv?token=***: HTTP 500 Internal Server Error "
        "(after 4 attempt(s)); see http://***@intranet.example/kpis.csv?token=***.")


# --- end to end: a user file behind a URL with credentials -------------------------------------
# (a failed fetch of one, through a whole refresh, is in tests/test_notify.py: its one refresh
# also calls the webhook, and the test searches every output and record for the credentials)
def _served(folder: Path) -> Path:
    """good.csv, served under the name its URL asks for (the query is part of the name)."""
    folder.mkdir()
    shutil.copyfile(ROOT / "tests" / "data" / "user" / "good.csv",
                    folder / "good.csv?token=TOK123ABC")
    return folder


def _secret_url(server: FileServer, path: str) -> str:
    return server.url.replace("http://", "http://alice:S3cretPass@") + path


def _nowhere_in(db: Path) -> list[str]:
    """The tables and columns of the warehouse where a credential shows."""
    found = []
    for (table,) in query(db, "SELECT table_name FROM information_schema.tables "
                              "WHERE table_type = 'BASE TABLE'"):
        for (column,) in query(db, "SELECT column_name FROM information_schema.columns "
                                   "WHERE table_name = ? AND data_type = 'VARCHAR'", [table]):
            hits = query(db, f'SELECT count(*) FROM "{table}" WHERE "{column}" LIKE ? '
                             f'OR "{column}" LIKE ?', ["%S3cretPass%", "%TOK123ABC%"])[0][0]
            if hits:
                found.append(f"{table}.{column}")
    return found


def test_a_loaded_file_is_named_without_its_credentials(registry_copy, tmp_path):
    with FileServer(_served(tmp_path / "served")) as server:
        url = _secret_url(server, "/files/good.csv?token=TOK123ABC")
        report = load(registry_copy, UserFiles(UserFiles.Settings(files=[url])),
                      HttpTransport(tmp_path / "http-cache"))
    assert report.status == "success" and report.rows_loaded == 3
    shown = url.replace("alice:S3cretPass", "***").replace("TOK123ABC", "***")
    datasets = query(registry_copy, "SELECT dataset_id, url FROM dataset "
                                    "WHERE source_id = 'user' ORDER BY dataset_id")
    # the file, and within it each source its rows name, is a dataset
    assert datasets == [(shown, shown), (f"{shown} (Senate cycling report)", shown)]
    assert _nowhere_in(registry_copy) == []
    cache = " ".join(p.read_text(errors="replace") for p in (tmp_path / "http-cache").iterdir())
    assert "S3cretPass" not in cache and "TOK123ABC" not in cache
