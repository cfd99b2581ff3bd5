"""Every source at once, the way analysts run them offline: one real `citybench refresh` of
every online source through a mirror directory; that mirror served over HTTP; and a refresh in
which every publisher sends garbage.

tests/source_fixtures.py names, per source, the real file (read in place from ../shared, or
from tests/data) that answers each of its publisher's URLs; the mirror is made of links to
them.
"""

from __future__ import annotations

import shutil

import pytest

from flows.sources.catalog import SOURCES
from flows.transport import HttpTransport, MirrorTransport, mirror_path
from tests.conftest import SHARED, citybench, cli_env, query, refresh
from tests.http_server import FileServer
from tests.source_fixtures import PUBLISHED_FILES, every_published_file, make_mirror
from warehouse.measures import SOURCE_ID as MEASURES

pytestmark = pytest.mark.skipif(
    not (SHARED / "opendata").is_dir(), reason="../shared/opendata is absent"
)

# The online run takes its registry from the GeoNames dump; the packaged copy would only be
# replaced by it (one registry per warehouse).
ONLINE = [name for name in SOURCES if name != "geonames"]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    return make_mirror(tmp_path_factory.mktemp("mirror"), every_published_file())


@pytest.fixture(scope="module")
def through_mirror(mirror, prefect, tmp_path_factory):
    db = tmp_path_factory.mktemp("mirror-run") / "w.duckdb"
    every_source = [arg for name in ONLINE for arg in ("--source", name)]
    result = citybench("refresh", *every_source, "--mirror", str(mirror), "--db", str(db),
                       env=cli_env(prefect), timeout=900)
    return db, result


def test_every_source_loads_through_the_mirror(through_mirror):
    db, result = through_mirror
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    statuses = dict(query(db, 'SELECT source_id, status FROM "load"'))
    # and the network measures computed from their links and memberships
    assert statuses == dict.fromkeys([*ONLINE, MEASURES], "success")
    # every source that requests a file by default holds facts from it (user files are
    # listed in the config, none by default)
    held: dict[str, int] = {}
    for table in ("observation", "membership", "city_link"):
        for source_id, count in query(db, f"SELECT source_id, count(*) FROM {table} GROUP BY 1"):
            held[source_id] = held.get(source_id, 0) + count
    assert set(held) == {*PUBLISHED_FILES, MEASURES}, held
    assert all(count > 0 for count in held.values()), held
    for name in ONLINE:
        assert f"  {name}: {held.get(name, 0):,} held after this load" in result.stdout, name


def test_every_fact_keeps_its_provenance(through_mirror):
    db, _ = through_mirror
    observations = query(db, "SELECT count(*) FROM observation")[0][0]
    orphaned = query(db, """
        SELECT count(*) FROM observation_provenance
        WHERE publisher IS NULL OR dataset IS NULL OR url IS NULL OR licence IS NULL
           OR attribution IS NULL OR retrieved_at IS NULL""")[0][0]
    assert query(db, "SELECT count(*) FROM observation_provenance")[0][0] == observations > 0
    assert orphaned == 0


def test_every_file_of_the_mirror_comes_over_http_as_it_is(mirror, tmp_path):
    """The mirror served by a static web server is an HTTP mirror: every publisher's URL
    fetched through it gives the bytes of the mirror's file for it."""
    files = every_published_file()
    with FileServer(mirror) as server:
        transport = HttpTransport(tmp_path / "http-cache", mirror=f"{server.url}/files")
        try:
            for url, path in files.items():
                fetched = transport.get(url)
                assert fetched.url == url
                assert fetched.content == mirror_path(mirror, url).read_bytes() == (
                    path.read_bytes()), url
                assert fetched.last_modified, url
        finally:
            transport.close()
    assert len(server.requests) == len(files)  # one request each, none retried


def test_garbage_from_publishers_fails_each_source_alone(mirror, registry_copy, tmp_path):
    """Every source that reads a URL gets a garbled copy of one of its files: each fails with
    a one-line reason naming that file, the one that reads none (the users' files, none
    listed) still loads, and the version publishes with the registry as it was."""
    garbled = tmp_path / "garbled"
    shutil.copytree(mirror, garbled, symlinks=True)
    victims = {}
    for name, files in PUBLISHED_FILES.items():
        url = sorted(files)[0]
        path = mirror_path(garbled, url)
        real = path.resolve().read_bytes()
        path.unlink()
        path.write_bytes(real[: len(real) // 3] + b"\x00\xff<garbage>\x00" * 50)
        file = next(f for f, u in SOURCES[name].urls.items() if url.startswith(u))
        victims[name] = (file, url.split("?")[0].rsplit("/", 1)[-1])
    # the registry is in the warehouse already: loading its unchanged package again would
    # only cost time
    sources = [source() for name, source in SOURCES.items() if name != "geonames"]
    summary = refresh(registry_copy, sources, MirrorTransport(garbled))
    failed = {report.source_id: report.error for report in summary.failed}
    assert set(failed) == set(victims)
    for name, names in victims.items():  # the source's name for the file, or the URL's
        assert any(file in failed[name] for file in names), failed[name]
        assert "\n" not in failed[name] and "Traceback" not in failed[name]
    statuses = dict(query(registry_copy, 'SELECT source_id, status FROM "load"'))
    assert statuses["geonames"] == statuses["user"] == "success"
    assert summary.version == 1 and max(o.cities for o in summary.scores) > 0
    assert query(registry_copy, "SELECT count(*) FROM observation WHERE source_id <> "
                                "'geonames'") == [(0,)]
