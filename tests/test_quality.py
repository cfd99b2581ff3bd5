"""Quarantine and the data-quality report: a few bad rows are rejected and listed while the
good ones load; many bad rows fail the source and keep what was published; checks that flag
without rejecting; the report as Prefect artifacts and as a page of the app."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from flows.sources.base import Source
from flows.sources.catalog import build, read_config
from tests.conftest import ROOT, copy_of, query, refresh
from warehouse import config, quality
from warehouse.migrate import migrate

ROWS = 200


def _user_csv(path, cities: list[str], bad: set[int]):
    """ROWS values of an invented indicator; the rows numbered in `bad` are broken, in turns
    in one of four ways."""
    breakages = [
        lambda city, year, value: (city, "bike_lanes_km", year, "n/a"),
        lambda city, year, value: (city, "bike_lanes_km", 1700, value),
        lambda city, year, value: (city, "Bike Lanes", year, value),
        lambda city, year, value: ("gn:", "bike_lanes_km", year, value),
    ]
    lines = ["city,indicator,period,value,unit"]
    for i, city in enumerate(cities):
        row = (city, "bike_lanes_km", 2024, f"{10 + i}.5")
        if i in bad:
            row = breakages[len([b for b in bad if b < i]) % len(breakages)](*row[::2], row[3])
        lines.append(",".join(map(str, row)) + ",km")
    path.write_text("\n".join(lines) + "\n")
    return path


def _user_source(folder, settings: str = "") -> Source:
    """The user source as citybench.toml in `folder` lists its figures.csv."""
    toml = folder / "citybench.toml"
    toml.write_text(f'[sources.user]\nfiles = ["figures.csv"]\n{settings}')
    return build("user", read_config(toml))


@pytest.fixture(scope="module")
def quarantined(published, tmp_path_factory):
    """A copy of the published warehouse refreshed with a user file 1% bad, then 50% bad."""
    folder = tmp_path_factory.mktemp("quarantine")
    db = copy_of(published, folder)
    cities = [c for (c,) in query(published, "SELECT city_id FROM city ORDER BY population "
                                             f"DESC NULLS LAST, city_id LIMIT {ROWS}")]
    runs = {}
    for name, bad in (("one_percent", {17, 150}), ("half", set(range(0, ROWS, 2)))):
        _user_csv(folder / "figures.csv", cities, bad)
        summary = refresh(db, [_user_source(folder)])
        held = query(db, "SELECT city_id, value FROM observation WHERE source_id = 'user' "
                         "ORDER BY city_id")
        runs[name] = (summary, held, cities)
    return db, runs


def test_a_file_with_one_percent_bad_rows_loads_the_good_and_lists_the_bad(quarantined):
    db, runs = quarantined
    summary, held, cities = runs["one_percent"]
    assert not summary.failed
    assert summary.loads[0].line() == (
        "user: 198 held after this load (198 observations); 200 rows written in all its "
        "tables (200 inserted, 0 updated, 0 deleted); 2 rows rejected (by the contracts, or a "
        "value unusable); 0 of 200 records not tied to a city (0.0% unresolved, 100% allowed)")
    assert {city for city, _ in held} == set(cities) - {cities[17], cities[150]}
    load_id = query(db, "SELECT min(load_id) FROM \"load\" WHERE source_id = 'user'")[0][0]
    reasons = [r for (r,) in query(db, "SELECT reason FROM rejected WHERE load_id = ? "
                                       "ORDER BY row_number", [load_id])]
    assert reasons == [
        "figures.csv line 19: value = 'n/a': expected a number",
        "figures.csv line 152: period = 1700: expected at least 1800",
    ]


def test_a_file_with_half_its_rows_bad_fails_and_keeps_what_was_published(quarantined):
    db, runs = quarantined
    summary, held, _ = runs["half"]
    assert [load.source_id for load in summary.failed] == ["user"]
    assert summary.loads[0].line() == (
        "user: FAILED - 100 of 200 observations rows rejected (more than 5%), e.g. "
        "figures.csv line 2: value = 'n/a': expected a number")
    assert held == runs["one_percent"][1]  # the values of the run before, all of them
    (status,) = query(db, "SELECT status FROM \"load\" WHERE source_id = 'user' "
                          "ORDER BY load_id DESC LIMIT 1")[0]
    assert status == "failed"


def test_the_rejection_policy_is_set_per_source(quarantined, tmp_path):
    """With [sources.user] max_rejected_share = 0.6 the half-bad file loads its good half."""
    db, runs = quarantined
    copy = copy_of(db, tmp_path)
    _user_csv(tmp_path / "figures.csv", runs["half"][2], set(range(0, ROWS, 2)))
    summary = refresh(copy, [_user_source(tmp_path, "max_rejected_share = 0.6\n")])
    # changed: the 99 even rows held before go, odd row 17 (bad the first time) comes, and
    # the file's dataset row is updated
    assert summary.loads[0].line() == (
        "user: 100 held after this load (100 observations); 101 rows written in all its "
        "tables (1 inserted, 1 updated, 99 deleted); 100 rows rejected (by the contracts, or a "
        "value unusable); 0 of 200 records not tied to a city (0.0% unresolved, 100% allowed)")


# --- checks that flag without rejecting -----------------------------------------------------
@pytest.fixture
def small(tmp_path):
    con = duckdb.connect(str(tmp_path / "q.duckdb"))
    migrate(con)
    con.execute("INSERT INTO source (source_id, publisher, dataset, url, licence, attribution, "
                "dataset_version, retrieved_at, cadence_days) "
                "VALUES ('pub', 'P', 'D', 'https://p', 'l', 'a', NULL, "
                "TIMESTAMPTZ '2024-01-01 00:00:00+00', 365), "
                "('fresh', 'F', 'D', 'https://f', 'l', 'a', NULL, "
                "TIMESTAMPTZ '2026-01-01 00:00:00+00', 365)")
    con.execute("INSERT INTO dataset VALUES ('pub', 'd1', 'T', 'https://p/d1', "
                "'Wed, 21 Oct 2015 07:28:00 GMT', NULL), ('fresh', 'd2', 'T', 'https://f/d2', "
                "'2025-12-30', NULL)")
    con.execute("INSERT INTO indicator VALUES ('size', 'Size', 'persons', 1, 'demography', "
                "'', 'pub'), ('flag01', 'Flag', '0/1', 1, 'status', '', 'pub')")
    rows = [(f"gn:{i}", "size", 2020, 1000.0 + i) for i in range(12)]
    rows += [("gn:99", "size", 2020, 1_000_000.0)]  # a thousand times the others
    rows += [("gn:1", "size", 2021, 1001.0), ("gn:2", "size", 2021, 1800.0)]  # +0%, +80%
    rows += [("gn:3", "size", 2019, 500.0)]  # 2020 doubles it: +101%
    rows += [("gn:1", "flag01", 2020, 1.0), ("gn:1", "flag01", 2021, 0.0)]  # not a jump
    for city, indicator, period, value in rows:
        flag = "b" if (city, period) == ("gn:2", 2021) else None
        con.execute("INSERT INTO observation VALUES (?, ?, ?, 'pub', ?, ?, 1, 'd1')",
                    [city, indicator, period, value, flag])
    yield con
    con.close()


def _flags(con, check):
    return con.execute("SELECT city_id, period, detail FROM quality_flag WHERE check_name = ? "
                       "ORDER BY source_id, dataset_id NULLS FIRST, city_id, period",
                       [check]).fetchall()


def test_flags_name_jumps_outliers_breaks_and_stale_data(small):
    count = quality.flag(small, datetime(2026, 6, 1, tzinfo=UTC), config.QualitySettings())
    jumps = _flags(small, "year-over-year jump")
    assert jumps == [("gn:2", 2021, "+80% from 2020 (1002) to 2021 (1800)"),
                     ("gn:3", 2020, "+101% from 2019 (500) to 2020 (1003)")]
    outliers = _flags(small, "outlier")
    assert [(city, period) for city, period, _ in outliers] == [("gn:99", 2020)]
    assert "among 13 cities (log scale)" in outliers[0][2]
    assert _flags(small, "break in series") == [
        ("gn:2", 2021, "the publisher flags a break in series (flag b)")]
    stale = small.execute("SELECT source_id, dataset_id, detail FROM quality_flag "
                          "WHERE check_name = 'stale' ORDER BY dataset_id NULLS FIRST").fetchall()
    assert stale == [
        ("pub", None, "not refreshed for 882 days; the publisher updates about every 365 days"),
        ("pub", "d1", "last updated by the publisher 3876 days ago (Wed, 21 Oct 2015 07:28:00 "
                      "GMT); usually every 365 days"),
    ]
    assert count == len(jumps) + len(outliers) + 1 + len(stale)


def test_thresholds_come_from_the_config(small, tmp_path):
    settings = tmp_path / "citybench.toml"
    settings.write_text("[quality]\nyoy_jump = 0.9\n")
    quality.flag(small, datetime(2026, 6, 1, tzinfo=UTC), config.read(settings).quality)
    assert [city for city, _, _ in _flags(small, "year-over-year jump")] == ["gn:3"]


# --- the app's page -------------------------------------------------------------------------
def test_the_quality_page_shows_rejects_flags_and_freshness(quarantined, monkeypatch):
    db, _ = quarantined
    monkeypatch.setenv("CITYBENCH_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.switch_page("views/quality.py").run()
    assert not at.exception, at.exception
    rejected = at.dataframe[0].value
    expected = query(db, """
        SELECT source_id, check_name, count(*) FROM rejected
        WHERE load_id IN (SELECT max(load_id) FROM "load" GROUP BY source_id)
        GROUP BY ALL ORDER BY ALL""")
    shown = sorted(zip(rejected["source_id"], rejected["check_name"], rejected["rows"],
                       strict=True))
    assert shown == expected
    # the user source's latest load failed: its rejected rows are the failed run's 100
    at.selectbox[0].set_value("user").run()
    rows = at.dataframe[1].value
    assert rows["row_number"].nunique() == 100
    assert rows["reason"].str.startswith("figures.csv line").all()
    flags = at.dataframe[2].value
    (flagged,) = query(db, "SELECT count(*) FROM quality_flag")[0]
    assert flags["flags"].sum() == flagged > 0
    freshness = at.dataframe[-1].value
    assert set(freshness["source_id"]) == {s for (s,) in query(db, "SELECT source_id FROM "
                                                                   "source")}
