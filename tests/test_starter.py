"""The starter snapshot: open data only, compact, rebuilt to the same bytes from the publishers'
files, loaded by the offline default and replaced by a refresh from the publisher; and
`citybench mirror`, which lays a user's files out for such a refresh."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from flows.mirror import find
from flows.snapshot import INPUTS, OPEN_LICENCES, build
from flows.sources.catalog import SOURCES
from flows.sources.catalog import build as build_source
from flows.sources.publishers import publisher_of
from flows.sources.starter import FOLDER, manifest, starter_sources
from flows.transport import MirrorTransport, mirror_path
from tests.conftest import ROOT, citybench, cli_env, copy_of, load, query
from tests.source_fixtures import OPENDATA, PUBLISHED_FILES
from warehouse.config import Config

STARTER = Path(str(FOLDER))
needs_opendata = pytest.mark.skipif(not OPENDATA.is_dir(), reason="../shared/opendata is absent")
LOG = logging.getLogger("citybench.tests")


def test_every_part_is_openly_licensed_and_attributed():
    parts = manifest()["sources"]
    assert parts[0]["source_id"] == "geonames-dump"  # the registry loads first
    for part in parts:
        assert part["licence"] in OPEN_LICENCES, part["source_id"]
        assert part["licence"] == publisher_of(part["source_id"]).licence
        assert part["attribution"] and part["vintage"] and part["retrieved"]
    notice = (STARTER / "NOTICE.md").read_text(encoding="utf-8")
    for licence in ("ODbL 1.0", "CC BY-SA 4.0"):
        holders = [p["source_id"] for p in parts if p["licence"] == licence]
        assert holders and all(f"`{h}/`" in notice for h in holders), licence
    assert "Open Database License" in notice and "ShareAlike" in notice


def test_nothing_unlicensed_or_non_commercial_can_enter(tmp_path):
    shutil.copy(STARTER / INPUTS, tmp_path / INPUTS)
    with (tmp_path / INPUTS).open("a", encoding="utf-8") as inputs:
        inputs.write('\n[sources.gawc]\nvintage = "FSU 2015"\nretrieved = 2020-01-01\n')
    with pytest.raises(Exception, match=r"\[sources.gawc\]: licence 'none stated by the "
                                        r"publisher' is not open"):
        build(OPENDATA, tmp_path, log=LOG)
    assert not (tmp_path / "manifest.json").exists()


def test_the_snapshot_is_compact():
    size = sum(f.stat().st_size for f in STARTER.rglob("*") if f.is_file())
    assert size <= 10_000_000, f"{size:,} bytes"


@needs_opendata
def test_a_rebuild_from_the_publishers_files_gives_the_same_bytes(tmp_path):
    shutil.copy(STARTER / INPUTS, tmp_path / INPUTS)
    rebuilt = build(OPENDATA, tmp_path, log=LOG)
    assert rebuilt["sha256"] == manifest()["sha256"], "rebuild with `citybench snapshot`"
    for part in rebuilt["sources"]:
        for table in part["tables"]:
            name = f"{part['source_id']}/{table}.parquet"
            assert (tmp_path / name).read_bytes() == (STARTER / name).read_bytes(), name
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest()


def test_the_offline_default_is_the_snapshot_marked_as_such(published):
    parts = {p["source_id"]: p for p in manifest()["sources"]}
    rows = dict((source, (snapshot, version)) for source, snapshot, version in query(
        published, "SELECT source_id, snapshot, dataset_version FROM source"))
    for source_id, part in parts.items():
        assert rows[source_id] == (manifest()["version"], part["vintage"])
        for table, stated in part["tables"].items():
            if table in ("country", "city"):
                continue  # the registry's whole tables
            held = query(published, f"SELECT count(*) FROM {table} WHERE source_id = ?",
                         [source_id])[0][0]
            assert held == stated["rows"], (source_id, table)


def test_status_says_which_values_come_from_the_snapshot(published, prefect):
    result = citybench("status", "--db", str(published), env=cli_env(prefect))
    # 2: the snapshot's older parts are past their publishers' cadence, and status says so
    assert result.returncode == 2, result.stderr
    said = result.stdout
    for part in manifest()["sources"]:
        assert (f"from the starter snapshot {manifest()['version']}: the publisher's files as "
                f"retrieved on {part['retrieved']}") in said


@needs_opendata
def test_a_refresh_from_the_publisher_replaces_the_snapshot_part(published, tmp_path):
    db = copy_of(published, tmp_path)
    mirror = tmp_path / "mirror"
    for url, path in PUBLISHED_FILES["openflights"].items():
        mirror_path(mirror, url).parent.mkdir(parents=True, exist_ok=True)
        mirror_path(mirror, url).symlink_to(path)
    report = load(db, build_source("openflights", Config()), MirrorTransport(mirror))
    assert report.status == "success", report.error
    snapshot, version = query(db, "SELECT snapshot, dataset_version FROM source "
                                  "WHERE source_id = 'openflights'")[0]
    assert snapshot is None and "starter" not in (version or "")
    others = query(db, "SELECT count(*) FROM source WHERE snapshot IS NOT NULL")[0][0]
    assert others == len(manifest()["sources"]) - 1


def test_a_snapshot_part_loads_like_any_source(tmp_path):
    """Its rows are checked by the contracts again: each part loads alone after the registry."""
    db = tmp_path / "w.duckdb"
    geonames, *others = starter_sources()
    assert load(db, geonames).status == "success"
    for source in others:
        report = load(db, source)
        assert report.status == "success", (source.meta.source_id, report.error)
        assert report.rows_rejected == 0


@needs_opendata
def test_mirror_lays_out_exactly_the_real_files(tmp_path, prefect):
    out = tmp_path / "mirror"
    result = citybench("mirror", "--from", str(OPENDATA), "--out", str(out),
                       env=cli_env(prefect))
    assert result.returncode == 0, result.stderr
    laid = {path.resolve() for path in out.rglob("*") if path.is_file()}
    # every real file the tests serve for a URL at that URL's place, but the one Wikidata answer
    # (a recorded answer to another query, which the tests stand in for the cities query)
    real = {url: path for name, files in PUBLISHED_FILES.items() if name != "wikidata"
            for url, path in files.items() if path.is_relative_to(OPENDATA)}
    for url, path in real.items():
        assert mirror_path(out, url).resolve() == path.resolve(), url
    assert len(laid) == len(real)  # and nothing else: none of the tests' invented files
    assert not any(path.is_relative_to(ROOT / "tests") for path in laid)
    assert "not found (looked for" in result.stdout


def test_mirror_refuses_a_file_found_twice(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "routes.dat").write_text("x")
    with pytest.raises(ValueError, match=r"openflights routes.dat: found more than once"):
        find(tmp_path, [SOURCES["openflights"]()])
