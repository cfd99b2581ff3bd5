"""Every source at once, the way analysts run them offline: one refresh through a mirror
directory, one through the same mirror served over HTTP, and one where a publisher sends garbage.

Each test_source_*.py names the publisher's URLs its source requests and the real file (read in
place from ../shared) that answers each (PUBLISHED_FILES); the mirror is made of links to them.
"""

from __future__ import annotations

import importlib
import shutil

import pytest

from flows.sources.catalog import SOURCES
from flows.transport import mirror_path
from tests.conftest import ROOT, SHARED, citybench, cli_env, query
from tests.http_server import FileServer

pytestmark = pytest.mark.skipif(
    not (SHARED / "opendata").is_dir(), reason="../shared/opendata is absent"
)


def published_files() -> dict:
    files = {}
    for path in sorted((ROOT / "tests").glob("test_source_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        files.update(getattr(module, "PUBLISHED_FILES", {}))
    return files


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror")
    for url, file in published_files().items():
        link = mirror_path(root, url)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(file.resolve())
    return root


# The online run takes its registry from the GeoNames dump; the packaged copy would only be
# replaced by it (one registry per warehouse).
ONLINE = [name for name in SOURCES if name != "geonames"]


def _every_source(names=ONLINE) -> list[str]:
    return [arg for name in names for arg in ("--source", name)]


def _held(db) -> dict[str, tuple[int, int, int]]:
    """Per source: observations, memberships, links."""
    counts: dict[str, list[int]] = {}
    for position, table in enumerate(("observation", "membership", "city_link")):
        for source_id, count in query(db, f"SELECT source_id, count(*) FROM {table} GROUP BY 1"):
            counts.setdefault(source_id, [0, 0, 0])[position] = count
    return {source: tuple(values) for source, values in counts.items()}


@pytest.fixture(scope="module")
def through_mirror(mirror, prefect_home, tmp_path_factory):
    db = tmp_path_factory.mktemp("mirror-run") / "w.duckdb"
    result = citybench("refresh", *_every_source(), "--mirror", str(mirror), "--db", str(db),
                       env=cli_env(prefect_home), timeout=900)
    return db, result


def test_every_source_loads_through_the_mirror(through_mirror):
    db, result = through_mirror
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    statuses = dict(query(db, 'SELECT source_id, status FROM "load"'))
    assert statuses == {SOURCES[name].meta.source_id: "success" for name in ONLINE}
    # every source that requests a file by default holds rows from it (user files are listed
    # in the config, none by default)
    fetching = {name for name in ONLINE if _fetched(SOURCES[name])}
    held = _held(db)
    assert set(held) == fetching, held
    assert all(sum(counts) > 0 for counts in held.values()), held


def test_every_fact_keeps_its_provenance(through_mirror):
    db, _ = through_mirror
    observations = query(db, "SELECT count(*) FROM observation")[0][0]
    orphaned = query(db, """
        SELECT count(*) FROM observation_provenance
        WHERE publisher IS NULL OR dataset IS NULL OR url IS NULL OR licence IS NULL
           OR attribution IS NULL OR retrieved_at IS NULL""")[0][0]
    assert query(db, "SELECT count(*) FROM observation_provenance")[0][0] == observations
    assert orphaned == 0


def test_the_same_mirror_over_http_gives_the_same_warehouse(
    mirror, through_mirror, prefect_home, tmp_path
):
    db = tmp_path / "w.duckdb"
    with FileServer(mirror) as server:
        result = citybench("refresh", *_every_source(), "--mirror", f"{server.url}/files",
                           "--db", str(db), env=cli_env(prefect_home), timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert _held(db) == _held(through_mirror[0])
    requested = {path.split("?")[0] for path, _ in server.requests}
    assert len(requested) >= len(published_files())  # every file came over HTTP


def test_garbage_from_publishers_fails_each_source_alone(mirror, prefect_home, tmp_path):
    """Every source that reads a URL gets a garbled copy of one of its files: each fails with
    a one-line reason naming that file, and the registry still publishes."""
    db = tmp_path / "w.duckdb"
    garbled = tmp_path / "garbled"
    shutil.copytree(mirror, garbled, symlinks=True)
    victims = {}
    for name, source in SOURCES.items():
        urls = _fetched(source)
        if not urls:
            continue  # reads no URL by default (the packaged registry, user files)
        file_name, url = urls[0]
        path = mirror_path(garbled, url)
        real = path.resolve().read_bytes()
        path.unlink()
        path.write_bytes(real[: len(real) // 3] + b"\x00\xff<garbage>\x00" * 50)
        victims[SOURCES[name].meta.source_id] = (file_name, url.rsplit("/", 1)[-1])
    result = citybench("refresh", *_every_source(list(SOURCES)), "--mirror", str(garbled),
                       "--db", str(db), env=cli_env(prefect_home), timeout=900)
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    failed = {line.split(":")[0].strip(): line for line in result.stdout.splitlines()
              if ": FAILED - " in line}
    assert set(failed) == set(victims), result.stdout
    for source_id, names in victims.items():  # the source's name for the file, or the URL's
        assert any(name in failed[source_id] for name in names), failed[source_id]
    assert "Traceback" not in result.stdout  # (Prefect's log on stderr keeps it, for debugging)
    assert dict(query(db, 'SELECT source_id, status FROM "load"'))["geonames"] == "success"


def _fetched(source) -> list[tuple[str, str]]:
    """(the source's name for a file, its URL) of the files in the mirror the source reads;
    a paged API's pages extend its URL (World Bank: `...&page=2`)."""
    files = sorted(published_files())
    return [(name, file) for name, url in sorted(getattr(source, "urls", {}).items())
            for file in files if file.startswith(url)]
