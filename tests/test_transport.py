"""The one transport, over real HTTP on 127.0.0.1 serving real publishers' files, and mirrors."""

from __future__ import annotations

import pytest

from flows.transport import (
    USER_AGENT,
    FetchFailed,
    HostLimit,
    HttpTransport,
    MirrorTransport,
    mirror_path,
)
from tests.conftest import SHARED
from tests.http_server import FileServer

OPENDATA = SHARED / "opendata"
FILE = "geonames/countryInfo.txt"
pytestmark = pytest.mark.skipif(not OPENDATA.is_dir(), reason="../shared/opendata is absent")


@pytest.fixture
def server():
    with FileServer(OPENDATA) as running:
        yield running


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def transport(tmp_path, sleeps):
    http = HttpTransport(tmp_path / "cache", timeout=2, retries=3, sleep=sleeps.append)
    yield http
    http.close()


def test_fetches_the_real_file_and_says_who_it_is(server, transport):
    fetched = transport.get(f"{server.url}/files/{FILE}")
    assert fetched.content == (OPENDATA / FILE).read_bytes()
    assert fetched.last_modified and not fetched.from_cache
    assert server.requests[0][1]["User-Agent"] == USER_AGENT


def test_unchanged_file_is_not_downloaded_again(server, transport):
    url = f"{server.url}/files/{FILE}"
    first = transport.get(url)
    second = transport.get(url)
    assert second.from_cache and second.content == first.content
    assert "If-None-Match" in server.requests[1][1]


def test_429_waits_as_long_as_retry_after_says(server, transport, sleeps):
    fetched = transport.get(f"{server.url}/fault/429/2/{FILE}")
    assert fetched.content == (OPENDATA / FILE).read_bytes()
    assert sleeps == [1.0, 1.0]


def test_server_errors_are_retried_with_growing_backoff(server, transport, sleeps):
    fetched = transport.get(f"{server.url}/fault/500/2/{FILE}")
    assert len(fetched.content) > 0
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]


def test_a_server_that_keeps_failing_gives_one_clear_line(server, transport):
    with pytest.raises(FetchFailed) as caught:
        transport.get(f"{server.url}/fault/500/99/{FILE}")
    message = str(caught.value)
    assert "HTTP 500" in message and "4 attempt(s)" in message and "\n" not in message


def test_a_missing_file_is_not_retried(server, transport, sleeps):
    with pytest.raises(FetchFailed, match="HTTP 404"):
        transport.get(f"{server.url}/files/nowhere.csv")
    assert sleeps == []


def test_timeouts_are_retried_then_reported(server, tmp_path):
    http = HttpTransport(tmp_path / "c", timeout=0.3, retries=1, sleep=lambda s: None)
    with pytest.raises(FetchFailed, match=r"timed out after 0\.3 s"):
        http.get(f"{server.url}/fault/slow/1/{FILE}")
    http.close()


def test_a_truncated_body_is_an_error_not_data(server, transport):
    with pytest.raises(FetchFailed) as caught:
        transport.get(f"{server.url}/fault/truncate/{FILE}")
    assert "incomplete" in str(caught.value) or "closed" in str(caught.value)


def test_per_host_limit_spaces_requests_and_is_remembered(server, tmp_path, sleeps):
    limits = {"127.0.0.1": HostLimit(requests=2, per_seconds=30)}
    first = HttpTransport(tmp_path / "c", limits=limits, sleep=sleeps.append)
    first.get(f"{server.url}/files/{FILE}")
    first.get(f"{server.url}/files/{FILE}")
    first.close()
    second = HttpTransport(tmp_path / "c", limits=limits, sleep=sleeps.append)  # a later run
    second.get(f"{server.url}/files/{FILE}")
    second.close()
    assert len(sleeps) == 1 and 25 < sleeps[0] <= 30


def test_limit_beyond_the_patience_refuses_clearly(server, tmp_path):
    limits = {"127.0.0.1": HostLimit(requests=1, per_seconds=3600)}
    http = HttpTransport(tmp_path / "c", limits=limits, sleep=lambda s: None)
    http.get(f"{server.url}/files/{FILE}")
    with pytest.raises(FetchFailed, match="allows 1 requests per 3600 s"):
        http.get(f"{server.url}/files/{FILE}")
    http.close()


def test_mirror_reads_the_same_urls_from_a_directory(tmp_path):
    url = "https://ec.europa.eu/eurostat/api/data/urb_cpop1?format=TSV&lang=en"
    target = mirror_path(tmp_path, url)
    assert target == tmp_path / "ec.europa.eu/eurostat/api/data/urb_cpop1?format=TSV&lang=en"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"payload")
    assert MirrorTransport(tmp_path).get(url).content == b"payload"
    with pytest.raises(FetchFailed, match="not in the mirror"):
        MirrorTransport(tmp_path).get("https://ec.europa.eu/other.tsv")
    with pytest.raises(FetchFailed, match="leaves the mirror"):
        MirrorTransport(tmp_path).get("https://host/../../etc/passwd")


def test_a_mirror_directory_served_over_http_answers_the_publishers_urls(tmp_path, sleeps):
    """The mirror layout on a web server: the query (with its own escapes) stays part of the
    file name, and the fetched file is reported under the publisher's URL."""
    url = "https://query.wikidata.org/sparql?query=SELECT%20%3Fx%20WHERE%20%7B%7D&format=json"
    target = mirror_path(tmp_path / "mirror", url)
    target.parent.mkdir(parents=True)
    target.symlink_to(OPENDATA / FILE)
    with FileServer(tmp_path / "mirror") as mirror:
        http = HttpTransport(tmp_path / "cache", sleep=sleeps.append, mirror=f"{mirror.url}/files")
        fetched = http.get(url)
        again = http.get(url)
        http.close()
    assert fetched.url == url
    assert fetched.content == (OPENDATA / FILE).read_bytes()
    assert again.from_cache and again.content == fetched.content
    assert [path for path, _ in mirror.requests] == [
        "/files/query.wikidata.org/sparql%3Fquery%3DSELECT%2520%253Fx%2520WHERE%2520%257B%257D"
        "%26format%3Djson"
    ] * 2
