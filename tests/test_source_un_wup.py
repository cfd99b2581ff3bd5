"""UN WUP 2018 (F12) from the real publisher's file: through a mirror, through HTTP, and the
failure of one source leaving the others published."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from flows.loading import read_registry
from flows.sources.base import Extracted
from flows.sources.un_wup import F12, LAST_ESTIMATE_YEAR, UnWup
from flows.transport import MirrorTransport
from tests.conftest import SHARED, citybench, cli_env
from tests.http_server import FileServer

WUP = SHARED / "opendata" / "un-wup-2018"
pytestmark = pytest.mark.skipif(not WUP.is_dir(), reason="../shared/opendata/un-wup-2018 absent")


@pytest.fixture(scope="module")
def parsed():
    extracted = Extracted({F12: (WUP / F12).read_bytes()}, "test", datetime.now(UTC))
    return UnWup().parse(extracted)


@pytest.fixture(scope="module")
def raw(parsed):
    return parsed["agglomerations"]


def test_every_agglomeration_and_year_is_parsed(raw):
    years = [c for c in raw.columns if c.isdigit()]
    assert len(raw) == 1860
    assert years == [str(y) for y in range(1950, 2040, 5)]
    outcome = UnWup.raw_models["agglomerations"].validate(raw, lazy=True)
    assert len(outcome) == 1860


def test_values_become_persons_with_projections_flagged(parsed, raw, published):
    con = duckdb.connect(str(published), read_only=True)
    registry = read_registry(con)
    con.close()
    valid = UnWup.raw_models["agglomerations"].validate(raw)
    conformed = UnWup().conform({**parsed, "agglomerations": valid}, registry)
    aliases = conformed.city_alias
    observation = conformed.observation
    assert len(aliases) + len(conformed.unresolved) == 1860  # every record accounted for
    assert len(aliases) >= 1700
    assert len(observation) == raw.set_index("city_code").loc[
        aliases["alias"].astype(int), [c for c in raw.columns if c.isdigit()]
    ].notna().sum().sum()
    assert set(observation.loc[observation["period"] > LAST_ESTIMATE_YEAR, "flag"]) == {"f"}
    assert observation.loc[observation["period"] <= LAST_ESTIMATE_YEAR, "flag"].isna().all()
    tokyo_code = int(raw.loc[raw["name"] == "Tokyo", "city_code"].iloc[0])
    tokyo_city = aliases.loc[aliases["alias"] == str(tokyo_code), "city_id"].iloc[0]
    tokyo_2015 = observation[
        (observation["city_id"] == tokyo_city) & (observation["period"] == 2015)
    ]
    expected = raw.loc[raw["city_code"] == tokyo_code, "2015"].iloc[0] * 1000
    assert tokyo_2015["value"].tolist() == [pytest.approx(expected)]
    assert conformed.unresolved["reason"].str.len().gt(0).all()


def _mirror(tmp_path):
    """A mirror laid out like the URLs, made of links to the publisher's file (no copy)."""
    url = UnWup.urls[F12]
    target = tmp_path / "mirror" / url.split("://", 1)[1]
    target.parent.mkdir(parents=True)
    target.symlink_to(WUP / F12)
    return tmp_path / "mirror"


def test_the_mirror_serves_the_publishers_url(tmp_path):
    extracted = UnWup().extract(MirrorTransport(_mirror(tmp_path)))
    assert extracted.files[F12] == (WUP / F12).read_bytes()


def _copy_of(published, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(published, db)
    return db


def _config(tmp_path, url):
    config = tmp_path / "citybench.toml"
    config.write_text(f'[sources.un-wup.urls]\n"{F12}" = "{url}"\n')
    return config


def test_refresh_over_http_loads_the_source(published, prefect_home, tmp_path):
    db = _copy_of(published, tmp_path)
    with FileServer(SHARED / "opendata") as server:
        config = _config(tmp_path, f"{server.url}/files/un-wup-2018/{F12}")
        result = citybench("refresh", "--source", "un-wup", "--db", str(db),
                           env=cli_env(prefect_home, CITYBENCH_CONFIG=str(config)))
    assert result.returncode == 0, result.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    loaded = con.execute(
        "SELECT count(*) FROM observation WHERE source_id = 'un-wup'"
    ).fetchone()[0]
    codes = con.execute("SELECT count(*) FROM city_alias WHERE scheme = 'un-wup'").fetchone()[0]
    reported = con.execute("SELECT count(*) FROM rejected WHERE source_id = 'un-wup' "
                           "AND check_name LIKE 'resolve:%'").fetchone()[0]
    con.close()
    assert codes + reported == 1860
    assert loaded >= 18 * codes * 0.99  # nearly every agglomeration has all 18 years
    assert f"un-wup: {loaded:,} rows held" in result.stdout


def test_a_failing_publisher_fails_only_its_source(published, prefect_home, tmp_path):
    db = _copy_of(published, tmp_path)
    with FileServer(SHARED / "opendata") as server:
        config = _config(tmp_path, f"{server.url}/fault/500/99/un-wup-2018/{F12}")
        env = cli_env(prefect_home, CITYBENCH_CONFIG=str(config))
        result = citybench("refresh", "--source", "geonames", "--source", "un-wup",
                           "--db", str(db), env=env)
    assert result.returncode == 1
    assert "un-wup: FAILED - " in result.stdout and "HTTP 500" in result.stdout
    assert "geonames: FAILED" not in result.stdout
    status = citybench("status", "--db", str(db), env=env)
    failed = [line for line in status.stdout.splitlines() if "last run FAILED" in line]
    assert len(failed) == 1 and "HTTP 500" in failed[0]
    assert "un-wup: never refreshed" in status.stdout
