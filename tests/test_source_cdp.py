"""CDP city-wide emissions 2016 and 2017 from the real exports, read in place: every report
read, values and derived per-capita emissions read back, cities resolved or reported, broken
exports named with their position."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from flows.sources.base import Extracted, ParseError, Registry
from flows.sources.cdp import C40, REPORTS_2016, REPORTS_2017, Cdp
from flows.transport import mirror_path
from tests.conftest import SHARED, citybench, cli_env

CDP = SHARED / "opendata" / "cdp"
FILES = {
    REPORTS_2016: CDP / "2016_-_Citywide_GHG_Emissions_20240207.csv",
    REPORTS_2017: CDP / "2017_-_Cities_Community_Wide_Emissions.csv",
}
PUBLISHED_FILES = {Cdp.urls[name]: path for name, path in FILES.items()}
pytestmark = pytest.mark.skipif(not CDP.is_dir(), reason="../shared/opendata/cdp absent")


def _rows(name):
    with FILES[name].open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _extracted(**replaced):
    files = {name: path.read_bytes() for name, path in FILES.items()}
    return Extracted({**files, **replaced}, "test", datetime.now(UTC))


@pytest.fixture(scope="module")
def parsed():
    return Cdp().parse(_extracted())


@pytest.fixture(scope="module")
def conformed(parsed, published):
    con = duckdb.connect(str(published), read_only=True)
    registry = Registry.read(con)
    con.close()
    frames = {name: Cdp.raw_models[name].validate(f) for name, f in parsed.items()}
    return Cdp().conform(frames, registry)


def test_every_report_is_read(parsed):
    reports = parsed["reports"]
    assert len(Cdp.raw_models["reports"].validate(reports)) == len(reports) == 187 + 229
    for name, total in ((REPORTS_2016, "Total City-wide Emissions (metric tonnes CO2e)"),
                        (REPORTS_2017, "Total emissions (metric tonnes CO2e)")):
        rows, mine = _rows(name), reports[reports["dataset_id"] == name]
        assert len(mine) == len(rows)
        assert mine["c40"].sum() == sum(r["C40"] == "C40" for r in rows)
        assert mine["total"].notna().sum() == sum(r[total] != "" for r in rows)
        assert mine["latitude"].notna().sum() == len(rows)  # every report has its point
    assert reports["c40"].sum() == 54 + 56


def test_madrid_read_back_with_its_derived_emissions_per_resident(conformed):
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


def test_every_report_is_resolved_or_reported(conformed, parsed):
    reports = Cdp.raw_models["reports"].validate(parsed["reports"])
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


def test_missing_values_stay_missing_and_gdp_is_us_dollars_only(conformed, parsed):
    observation = conformed.observation
    assert observation["value"].notna().all()
    per_capita = (observation["indicator_id"] == "ghg_emissions_per_capita").sum()
    totals = (observation["indicator_id"] == "ghg_emissions_total").sum()
    assert 0 < per_capita <= totals
    gdp = observation[observation["indicator_id"] == "city_gdp_usd"]
    usd = parsed["reports"][parsed["reports"]["gdp_currency"] == "USD"]
    assert 0 < len(gdp) <= len(usd)
    assert any("GDP figures left out" in note for note in conformed.notes)


def test_broken_exports_name_file_and_position():
    content = FILES[REPORTS_2017].read_bytes()
    with pytest.raises(ParseError, match=rf"^{REPORTS_2017}, line \d+: expected"):
        Cdp().parse(_extracted(**{REPORTS_2017: content[: len(content) // 2]}))
    with pytest.raises(ParseError, match=rf"^{REPORTS_2017}, byte 1000: expected UTF-8"):
        Cdp().parse(_extracted(**{REPORTS_2017: content[:1000] + b"\xff" + content[1001:]}))
    renamed = content.replace(b"Population year", b"Pop year", 1)
    with pytest.raises(ParseError, match=rf"^{REPORTS_2017}, line 1: expected the columns"):
        Cdp().parse(_extracted(**{REPORTS_2017: renamed}))
    text = FILES[REPORTS_2016].read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows[3][rows[0].index("Current Population")] = "about a million"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    where = r"line \d+, column 'Current Population'"
    with pytest.raises(ParseError, match=rf"{where}: expected a number"):
        Cdp().parse(_extracted(**{REPORTS_2016: out.getvalue().encode()}))


def test_refresh_from_a_mirror_loads_the_source(published, prefect_home, tmp_path, conformed):
    root = tmp_path / "mirror"
    for url, path in PUBLISHED_FILES.items():
        target = mirror_path(root, url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
    db = tmp_path / "w.duckdb"
    shutil.copyfile(published, db)
    result = citybench("refresh", "--source", "cdp", "--mirror", str(root), "--db", str(db),
                       env=cli_env(prefect_home))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    held = con.execute("SELECT count(*) FROM observation WHERE source_id = 'cdp'").fetchone()[0]
    members = con.execute("SELECT count(*) FROM membership WHERE network_id = ?",
                          [C40]).fetchone()[0]
    con.close()
    assert (held, members) == (len(conformed.observation), len(conformed.membership))
