"""CDP city-wide emissions 2016 and 2017 from the real exports, read in place: every report
read, values and derived per-capita emissions read back, cities resolved or reported, exports
whose columns or cells are not CDP's refused with their position."""

from __future__ import annotations

import csv
import io

import pytest

from flows.sources.cdp import C40, REPORTS_2016, REPORTS_2017, Cdp
from tests.conftest import query
from tests.source_fixtures import PUBLISHED_FILES, needs_sample, sample_fixture
from warehouse.parse_error import ParseError

FILES = {name: PUBLISHED_FILES["cdp"][Cdp.urls[name]] for name in (REPORTS_2016, REPORTS_2017)}
pytestmark = needs_sample("cdp")


def _rows(name):
    with FILES[name].open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


run = sample_fixture("cdp")


def test_every_report_is_read(run):
    reports = run.parsed["reports"]
    assert run.raw["reports"].rejected_rows == 0 and len(reports) == 187 + 229
    for name, total in ((REPORTS_2016, "Total City-wide Emissions (metric tonnes CO2e)"),
                        (REPORTS_2017, "Total emissions (metric tonnes CO2e)")):
        rows, mine = _rows(name), reports[reports["dataset_id"] == name]
        assert len(mine) == len(rows)
        assert mine["c40"].sum() == sum(r["C40"] == "C40" for r in rows)
        assert mine["total"].notna().sum() == sum(r[total] != "" for r in rows)
        assert mine["latitude"].notna().sum() == len(rows)  # every report has its point
    assert reports["c40"].sum() == 54 + 56


def test_madrid_read_back_with_its_derived_emissions_per_resident(run):
    conformed = run.conformed
    madrid = conformed.city_alias.loc[conformed.city_alias["alias"] == "31171", "city_id"]
    assert len(madrid) == 1
    mine = conformed.observation[conformed.observation["city_id"] == madrid.iloc[0]]
    values = mine.set_index(["indicator_id", "period"])["value"]
    assert values[("ghg_emissions_total", 2014)] == 9_236_196  # the 2017 report's inventory
    assert values[("reported_population", 2016)] == 3_165_883
    assert values[("ghg_emissions_per_capita", 2014)] == pytest.approx(9_236_196 / 3_165_883)
    assert values[("land_area", 2017)] == 604
    datasets = mine.set_index(["indicator_id", "period"])["dataset_id"]
    assert datasets[("ghg_emissions_total", 2014)] == REPORTS_2017
    assert datasets[("land_area", 2016)] == REPORTS_2016  # each export dated by its year
    members = conformed.membership
    assert ((members["city_id"] == madrid.iloc[0]) & (members["network_id"] == C40)).sum() == 2


def test_every_report_is_resolved_or_reported(run):
    conformed, reports = run.conformed, run.valid("reports")
    keys = set(reports["dataset_id"] + ":" + reports["account"].astype(str))
    resolved = keys - set(conformed.unresolved["key"])
    assert len(resolved) + len(conformed.unresolved) == len(keys)
    assert len(resolved) >= 0.8 * len(keys)
    assert conformed.unresolved["reason"].str.len().gt(0).all()
    assert set(conformed.unresolved["status"]) <= {"unmatched", "low confidence", "ambiguous",
                                                   "duplicate"}
    # C40 members: one membership per resolved flagged report (none is flagged twice a year)
    flagged = reports[reports["c40"]]
    flagged_keys = set(flagged["dataset_id"] + ":" + flagged["account"].astype(str))
    assert len(conformed.membership) == len(flagged_keys & resolved)


def test_missing_values_stay_missing_and_gdp_is_us_dollars_only(run):
    observation = run.conformed.observation
    assert observation["value"].notna().all()
    per_capita = (observation["indicator_id"] == "ghg_emissions_per_capita").sum()
    totals = (observation["indicator_id"] == "ghg_emissions_total").sum()
    assert 0 < per_capita <= totals
    gdp = observation[observation["indicator_id"] == "city_gdp_usd"]
    usd = run.parsed["reports"][run.parsed["reports"]["gdp_currency"] == "USD"]
    assert 0 < len(gdp) <= len(usd)
    assert any("GDP figures left out" in note for note in run.conformed.notes)


def _parse(run, **replaced: bytes):
    return Cdp().parse(type(run.extracted)({**run.extracted.files, **replaced}, None,
                                           run.extracted.retrieved_at))


def test_an_export_with_other_columns_or_cells_names_its_position(run):
    content = FILES[REPORTS_2017].read_bytes()
    renamed = content.replace(b"Population year", b"Pop year", 1)
    with pytest.raises(ParseError, match=rf"^{REPORTS_2017}, line 1: expected the columns"):
        _parse(run, **{REPORTS_2017: renamed})
    text = FILES[REPORTS_2016].read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows[3][rows[0].index("Current Population")] = "about a million"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    with pytest.raises(ParseError, match=r"line 4, column 'Current Population': expected a "
                                         r"number, found 'about a million'"):
        _parse(run, **{REPORTS_2016: out.getvalue().encode()})


def test_the_load_holds_what_was_conformed(run):
    held = query(run.db, "SELECT count(*) FROM observation WHERE source_id = 'cdp'")
    members = query(run.db, "SELECT count(*) FROM membership WHERE network_id = ?", [C40])
    assert (held[0][0], members[0][0]) == (len(run.conformed.observation),
                                           len(run.conformed.membership))
    assert run.report.rows_loaded == held[0][0] + members[0][0]  # the facts it holds
