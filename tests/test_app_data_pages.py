"""The "Data and runs" pages (Sources and freshness, Data quality) against a small synthetic
warehouse: rows held as `citybench status` counts them, full errors and no 'None', why a
source is stale, flags by priority and their filters, each checked against SQL."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from app.status import status_lines
from flows.sources.catalog import build, read_config
from tests.app_fixtures import FAILED_LOAD_ERROR, build_warehouse
from tests.conftest import ROOT, load, query
from warehouse import quality
from warehouse.config import QualitySettings

APP = str(ROOT / "app" / "streamlit_app.py")
PARIS = "gn:2988507"  # not in the synthetic registry's 8 cities: added below
AS_OF = datetime(2025, 6, 2, tzinfo=UTC)


def _flagged(path) -> None:
    """Eurostat's Paris population jumping from 2.22 M to 9.78 M in 2015 (as the mirror's files
    have it), small jumps, and the checks run over the synthetic warehouse."""
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO country (iso2, iso3, name, continent, population, capital) "
                "VALUES ('FR', 'FRA', 'France', 'EU', 66000000, 'Paris')")
    con.execute("INSERT INTO city (city_id, name, ascii_name, country_iso2, country_iso3, "
                "latitude, longitude, population, is_capital) VALUES (?, 'Paris', 'Paris', "
                "'FR', 'FRA', 48.85, 2.35, 2138551, true)", [PARIS])
    con.execute("INSERT INTO source (source_id, publisher, dataset, url, licence, attribution, "
                "dataset_version, retrieved_at, cadence_days) VALUES ('eurostat', 'Eurostat', "
                "'City statistics', 'https://ec.europa.eu/eurostat', 'CC BY 4.0', "
                "'Eurostat, CC BY 4.0', '2018', TIMESTAMPTZ '2018-12-26 00:00:00+00', 365)")
    con.execute("INSERT INTO dataset VALUES ('eurostat', 'urb_cpop1', 'Population', "
                "'https://ec.europa.eu/eurostat', 'Wed, 26 Dec 2018 00:00:00 GMT', "
                "TIMESTAMPTZ '2018-12-26 00:00:00+00')")
    con.execute("INSERT INTO indicator (indicator_id, name, unit, direction, domain, "
                "description, source_id) VALUES ('eurostat_de1001v', 'Population on the 1st "
                "of January, total', 'persons', 1, 'demography', 'Eurostat', 'eurostat')")
    series = {PARIS: [2_240_681, 2_229_870, 2_220_445, 9_780_000],
              "gn:2950159": [3_375_222, 3_421_829, 3_469_849, 3_520_031 * 1.6]}
    for city, values in series.items():
        for period, value in zip(range(2012, 2016), values, strict=True):
            con.execute("INSERT INTO observation VALUES (?, 'eurostat_de1001v', ?, 'eurostat', "
                        "?, NULL, 6, 'urb_cpop1')", [city, period, value])
    quality.flag(con, AS_OF, QualitySettings(min_cities=5, robust_z=1.0))
    con.close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    synthetic = build_warehouse(tmp_path_factory.mktemp("data-pages") / "w.duckdb")
    _flagged(synthetic.path)
    return synthetic.path


@pytest.fixture(scope="module")
def app_env(warehouse):
    """The app reads the warehouse named in $CITYBENCH_DB on every run, the filters' too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CITYBENCH_DB", str(warehouse))
        yield


def _page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def sources_page(app_env):
    return _page("views/sources.py")


@pytest.fixture(scope="module")
def quality_page(app_env):
    return _page("views/quality.py")


def _markdown(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_rows_held_after_a_failed_load_are_what_status_counts(warehouse, sources_page):
    """worldbank's last load failed (recorded with rows_loaded 8 of an older definition);
    its previous rows are kept, and the page says how many, as `citybench status` does."""
    (held,) = query(warehouse, "SELECT count(*) FROM observation "
                               "WHERE source_id = 'worldbank'")[0]
    status = next(line for line in status_lines(warehouse) if line.startswith("  worldbank:"))
    assert f", {held:,} rows held" in status
    shown = _markdown(sources_page)
    assert f"rows held: {held:,} (observations" in shown
    for (source, count) in query(warehouse, "SELECT source_id, count(*) FROM observation "
                                            "GROUP BY ALL"):
        assert f"rows held: {count:,} (observations" in shown, source


def test_the_loads_table_shows_no_none_and_every_error_in_full(warehouse, sources_page):
    loads = next(frame.value for frame in sources_page.dataframe
                 if "load_id" in frame.value.columns)
    assert len(loads) == query(warehouse, 'SELECT count(*) FROM "load"')[0][0]
    shown = loads[["load_id", "source_id", "status", "error", "started_at", "finished_at",
                   "rows_read", "rows_loaded", "rows_changed", "rows_rejected"]]
    assert not shown.isna().any().any()
    assert not shown.astype(str).isin(["None", "nan", "NaT"]).any().any()
    failed = loads[loads["status"] == "failed"]
    assert (failed["rows_loaded"] == "").all()  # a failed load loads nothing
    assert f"`worldbank`, 2025-06-01 05:00 UTC: {FAILED_LOAD_ERROR}" in _markdown(sources_page)


def test_a_stale_source_says_why_and_when_the_refresh_read_it(warehouse, sources_page,
                                                             quality_page):
    fresh = quality_page.dataframe[-1].value.set_index("source_id")
    # eurostat's dataset: not updated by its publisher within its 365-day cadence
    assert fresh.loc["eurostat", "stale"]
    reason = fresh.loc["eurostat", "stale_reason"]
    assert reason.startswith("older than its 365-day cadence")
    assert fresh.loc["geonames", "stale_reason"] == ""  # not stale: no reason, no 'None'
    # when the refresh read geonames: its last successful load, not its files' date
    (read_at,) = query(warehouse, "SELECT strftime(max(finished_at) AT TIME ZONE 'UTC', "
                                  "'%Y-%m-%d %H:%M UTC') FROM \"load\" WHERE status = "
                                  "'success' AND source_id = 'geonames'")[0]
    assert fresh.loc["geonames", "read_at"] == read_at
    assert f"stale: {reason}" in _markdown(sources_page)


def test_a_big_jump_is_the_top_high_priority_flag_and_population_outliers_are_low(
        warehouse, quality_page):
    flags = next(frame.value for frame in quality_page.dataframe
                 if "priority" in frame.value.columns)
    top = flags.iloc[0]
    assert (top["priority"], top["city"], top["period"]) == ("high", "Paris", "2015")
    high = flags[flags["priority"] == "high"]
    assert high["city"].tolist() == ["Paris"]  # Berlin's x1.6 is a jump, not a high one
    outliers = flags[(flags["check_name"] == "outlier")
                     & flags["indicator"].str.startswith("Population")]
    assert len(outliers) and (outliers["priority"] == "low").all()
    (total,) = query(warehouse, "SELECT count(*) FROM quality_flag")[0]
    assert len(flags) == total


@pytest.mark.parametrize(("choice", "sql"), [
    ({"flag-priority": "low"}, "check_name = 'outlier' AND indicator_id IN "
                               "(SELECT indicator_id FROM indicator WHERE unit IN "
                               "('persons', '%'))"),
    ({"flag-check": "year-over-year jump", "flag-source": "eurostat"},
     "check_name = 'year-over-year jump' AND source_id = 'eurostat'"),
    ({"flag-indicator": "population"}, "indicator_id = 'population'"),
    ({"flag-city": "MÜNCH"}, "city_id = 'gn:2867714'"),
])
def test_the_filters_narrow_the_flags_as_sql_counts(warehouse, quality_page, choice, sql):
    at = quality_page
    for key, value in choice.items():
        widget = at.text_input(key) if key == "flag-city" else at.selectbox(key)
        widget.set_value(value)
    at.run()
    try:
        flags = next(frame.value for frame in at.dataframe if "priority" in frame.value.columns)
        (expected,) = query(warehouse, f"SELECT count(*) FROM quality_flag WHERE {sql}")[0]
        assert len(flags) == expected > 0
    finally:
        for key in choice:
            widget = at.text_input(key) if key == "flag-city" else at.selectbox(key)
            widget.set_value("" if key == "flag-city" else "(any)")
        at.run()


def test_a_failed_user_file_load_records_the_rows_it_read(tmp_path):
    """1 of 7 rows broken: the source fails its 5% limit after reading its rows, and records
    them as a successful load counts them: the rows of every raw frame the contracts check
    (its 7 rows, the file's dataset row and its file row)."""
    rows = [f"gn:{i},bike_lanes_km,2024,{'n/a' if i == 3 else i},km" for i in range(1, 8)]
    (tmp_path / "figures.csv").write_text("city,indicator,period,value,unit\n"
                                          + "\n".join(rows) + "\n")
    (tmp_path / "citybench.toml").write_text('[sources.user]\nfiles = ["figures.csv"]\n')
    failed = load(tmp_path / "w.duckdb", build("user", read_config(tmp_path / "citybench.toml")))
    assert failed.status == "failed" and failed.error.startswith("1 of 7 observations rows")
    recorded = query(tmp_path / "w.duckdb", 'SELECT rows_read FROM "load" WHERE load_id = ?',
                     [failed.load_id])[0][0]
    assert recorded == failed.rows_read == 7 + 1 + 1
