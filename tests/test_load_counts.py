"""What a load says of itself, on the real OpenFlights files: the share of its records no city
was found for, judged against the source's stated limit; counts a reader can check against the
warehouse and `citybench status`; and the staleness of data its publisher stopped updating."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app.status import status_lines
from flows.sources.openflights import OpenFlights
from flows.sources.un_wup import UnWup
from flows.transport import MirrorTransport
from flows.validate import unresolved_limit
from tests.conftest import copy_of, load, query
from tests.source_fixtures import PUBLISHED_FILES, make_mirror, needs_sample
from warehouse import quality
from warehouse.config import DEFAULT_MAX_UNRESOLVED_SHARE, QualitySettings
from warehouse.connect import open_read_write
from warehouse.publish import record_publication

pytestmark = needs_sample("openflights")


@pytest.fixture(scope="module")
def loaded(registry, tmp_path_factory):
    """OpenFlights loaded from its real files into a copy of the registry, and published."""
    folder = tmp_path_factory.mktemp("openflights-counts")
    mirror = MirrorTransport(make_mirror(folder / "mirror", PUBLISHED_FILES["openflights"]))
    db = copy_of(registry, folder)
    report = load(db, OpenFlights(), mirror)
    con = open_read_write(db)
    try:
        record_publication(con, None, report.line())
    finally:
        con.close()
    return db, mirror, report


def test_the_limit_is_the_settings_then_the_publishers_stated_share_then_the_default():
    assert unresolved_limit(OpenFlights()) == 0.45  # stated in publishers.toml, with why
    assert unresolved_limit(UnWup()) == DEFAULT_MAX_UNRESOLVED_SHARE == 0.10
    chosen = OpenFlights(OpenFlights.Settings(max_unresolved_share=0.3))
    assert unresolved_limit(chosen) == 0.3


def test_the_summary_counts_can_be_checked_against_the_warehouse_and_status(loaded):
    db, _, report = loaded
    assert report.status == "success", report.error
    links = query(db, "SELECT count(*) FROM city_link WHERE source_id = 'openflights'")[0][0]
    assert report.held == {"observation": 0, "membership": 0, "city_link": links}
    assert report.rows_loaded == links > 10_000
    assert report.rows_changed == report.rows_inserted + report.rows_updated + report.rows_deleted
    unresolved = query(db, "SELECT count(*) FROM rejected WHERE source_id = 'openflights' AND "
                           "check_name LIKE 'resolve: %'")[0][0]
    assert report.records_unresolved == unresolved > 1000
    # the airports routes use, and the route ends of no known airport
    unknown = query(db, "SELECT count(*) FROM rejected WHERE source_id = 'openflights' AND "
                        "check_name = 'resolve: unknown airport'")[0][0]
    assert 3000 < report.records_to_resolve - unknown < 3424
    share = f"{unresolved:,} of {report.records_to_resolve:,} records not tied to a city " + (
        f"({unresolved / report.records_to_resolve:.1%} unresolved")
    line = report.line()
    assert line.startswith(f"openflights: {links:,} held after this load ({links:,} links); "
                           f"{report.rows_changed:,} rows written in all its tables "
                           f"({report.rows_inserted:,} inserted, 0 updated, 0 deleted)")
    assert share + ", 45% allowed)" in line
    status = "\n".join(status_lines(db))
    assert "openflights: last refreshed" in status
    assert re.search(rf"openflights: .*, {links:,} rows held", status)
    assert "not updated by its publisher since 2014-06" in status
    assert share + ")" in status


def test_above_its_limit_a_source_loads_nothing_and_keeps_its_data(loaded, tmp_path):
    db, mirror, report = loaded
    db = copy_of(db, tmp_path)
    strict = OpenFlights(OpenFlights.Settings(max_unresolved_share=0.3))
    failed = load(db, strict, mirror)
    assert failed.status == "failed"
    share = report.records_unresolved / report.records_to_resolve
    assert share > 0.3
    assert failed.error == (f"{report.records_unresolved:,} of {report.records_to_resolve:,} "
                            f"records not tied to a city ({share:.1%} unresolved, 30% "
                            "allowed): more than its limit ([sources.<id>] "
                            "max_unresolved_share); nothing loaded")
    held = query(db, "SELECT count(*) FROM city_link WHERE source_id = 'openflights'")[0][0]
    assert held == report.rows_loaded  # the previous load's links, untouched
    listed = query(db, "SELECT count(*) FROM rejected WHERE load_id = ?", [failed.load_id])[0][0]
    assert listed == report.records_unresolved  # each one named, though nothing loaded


def test_a_frozen_source_is_stale_since_its_publishers_last_update(loaded, tmp_path):
    db = copy_of(loaded[0], tmp_path)
    con = open_read_write(db)
    try:
        quality.flag(con, datetime(2026, 12, 6, tzinfo=UTC), QualitySettings())
        fresh = quality.freshness(con, datetime(2026, 12, 6, tzinfo=UTC))
    finally:
        con.close()
    stale = query(db, "SELECT detail FROM quality_flag WHERE check_name = 'stale' "
                      "AND source_id = 'openflights'")
    assert [row[0] for row in stale] == [
        "not updated by its publisher since 2014-06 (4571 days ago): the publisher no longer "
        "updates this data"]
    row = fresh.set_index("source_id").loc["openflights"]
    assert row["frozen_since"] == "2014-06" and bool(row["stale"])
