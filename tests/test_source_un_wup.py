"""UN WUP 2018 (F12) from the real publisher's file: read, conformed, loaded over HTTP, and the
failure of one source leaving the others published; F22 (annual) from a workbook made here in
F22's layout, since no real F22 is at hand."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import pytest

from app.status import status_lines
from flows.sources.base import Extracted
from flows.sources.gawc import MATRICES, Gawc
from flows.sources.un_wup import F12, F22, LAST_ESTIMATE_YEAR, UnWup
from flows.transport import FetchFailed, HttpTransport, MirrorTransport, mirror_path
from tests.conftest import query, refresh
from tests.http_server import FileServer
from tests.source_fixtures import (
    GAWC,
    OPENDATA,
    WUP,
    Recorder,
    load_recorded,
    make_mirror,
    needs_sample,
    sample_fixture,
    served_over_http,
)
from warehouse.parse_error import ParseError

pytestmark = needs_sample("un-wup")


run = sample_fixture("un-wup")


@pytest.fixture(scope="module")
def raw(run):
    return run.parsed["agglomerations"]


def _urls(base: str, annual: str | None = None) -> UnWup:
    """The source with both files pointed at the test server: F22 where asked, else at a name
    the server lacks."""
    return UnWup(UnWup.Settings(urls={F12: base + F12, F22: annual or base + F22}))


def test_every_agglomeration_and_year_is_parsed(raw):
    years = [c for c in raw.columns if c.isdigit()]
    assert len(raw) == 1860
    assert years == [str(y) for y in range(1950, 2040, 5)]
    outcome = UnWup.raw_models["agglomerations"].validate(raw, lazy=True)
    assert len(outcome) == 1860


def test_values_become_persons_with_projections_flagged(run, raw):
    conformed = run.conformed
    assert all(o.rejected_rows == 0 for o in run.raw.values())
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


def test_a_failing_publisher_fails_only_its_source(registry_copy, tmp_path):
    """A refresh in which the UN's server answers HTTP 500 however often it is asked: un-wup
    fails with that reason, the other source loads, and the version is published."""
    with FileServer(OPENDATA) as server:
        transport = HttpTransport(tmp_path / "http-cache", sleep=lambda seconds: None)
        gawc = Gawc(Gawc.Settings(urls={
            m.file: f"{server.url}/files/{GAWC.relative_to(OPENDATA)}/{m.file}"
            for m in MATRICES}))
        failing = _urls(f"{server.url}/fault/500/99/un-wup-2018/")
        summary = refresh(registry_copy, [gawc, failing], transport)
        transport.close()
    assert [(r.source_id, r.status) for r in summary.loads] == [("gawc", "success"),
                                                                ("un-wup", "failed")]
    assert "HTTP 500" in summary.failed[0].error and summary.version == 1
    lines = status_lines(registry_copy)
    failed = [line for line in lines if "last run FAILED" in line]
    assert len(failed) == 1 and "HTTP 500" in failed[0]
    assert any("un-wup: never refreshed" in line for line in lines)


# --- F22 (annual) ---------------------------------------------------------------------------
F22_NAMES = ("Tokyo", "Lagos", "Herat")  # the agglomerations written to our F22
TITLE_BLOCK = {  # 1-based rows of the UN's title block, as F12 has it
    5: "United Nations",
    6: "Population Division",
    7: "Department of Economic and Social Affairs",
    9: "World Urbanization Prospects: The 2018 Revision",
    10: "File 22: Annual Population of Urban Agglomerations with 300,000 Inhabitants or More "
    "in 2018, by Country, 1950-2035 (thousands)",
    12: "POP/DB/WUP/Rev.2018/1/F22",
}
HEADER = ["Index", "Country Code", "Country or area", "City Code", "Urban Agglomeration", "Note",
          "Latitude", "Longitude"]


def write_f22(path, raw, names=F22_NAMES, changed=None, years=range(1950, 2036)):
    """A workbook in F22's layout (title block, header on row 17, a column per year), made by
    this test: the five-yearly values are F12's, the years between are interpolated (invented,
    not the UN's). `changed` = (name, year, thousands) writes one value that disagrees."""
    import numpy as np
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    for row, text in TITLE_BLOCK.items():
        sheet.cell(row, 1, text)
    for column, label in enumerate([*HEADER, *years], start=1):
        sheet.cell(17, column, label)
    five = [int(c) for c in raw.columns if c.isdigit()]
    written = {}
    for index, name in enumerate(names, start=1):
        place = raw.loc[raw["name"] == name].iloc[0]
        values = np.interp(list(years), five, [place[str(y)] for y in five]).round(3)
        values = dict(zip(years, values, strict=True))
        if changed and changed[0] == name:
            values[changed[1]] = changed[2]
        cells = [index, int(place["country_code"]), "", int(place["city_code"]), name, None,
                 float(place["latitude"]), float(place["longitude"]), *values.values()]
        for column, value in enumerate(cells, start=1):
            sheet.cell(17 + index, column, value)
        written[int(place["city_code"])] = values
    book.create_sheet("NOTES").cell(1, 1, "Notes (made for this test)")
    book.save(path)
    return written


def _both(tmp_path, raw, **kwargs):
    path = tmp_path / F22
    written = write_f22(path, raw, **kwargs)
    files = {F12: (WUP / F12).read_bytes(), F22: path.read_bytes()}
    return Extracted(files, "test", datetime.now(UTC)), written


def test_f22_is_read_as_a_second_dataset(tmp_path, raw):
    extracted, written = _both(tmp_path, raw)
    parsed = UnWup().parse(extracted)
    annual = parsed["annual"]
    assert len(annual) == len(written) == 3
    assert [c for c in annual.columns if c.isdigit()] == [str(y) for y in range(1950, 2036)]
    assert len(UnWup.raw_models["annual"].validate(annual)) == 3
    assert parsed["datasets"]["dataset_id"].tolist() == ["wup2018-f12", "wup2018-f22"]
    assert parsed["datasets"]["url"].iloc[1] == UnWup.urls[F22]


def test_a_broken_f22_names_itself_and_where(tmp_path, raw):
    extracted, _ = _both(tmp_path, raw)
    content = extracted.files[F22]
    # cut in half, and the Data sheet's compressed bytes garbled
    data_sheet = zipfile.ZipFile(io.BytesIO(content)).getinfo("xl/worksheets/sheet1.xml")
    at = data_sheet.header_offset + 100
    garbled = content[:at] + b"\xa5" * 200 + content[at + 200:]
    for broken, where in ((content[: len(content) // 2], r"byte [\d,]+ \(end of file\)"),
                          (garbled, "sheet 'Data'")):
        files = {**extracted.files, F22: broken}
        with pytest.raises(ParseError, match=rf"^{F22}, {where}: expected"):
            UnWup().parse(replace(extracted, files=files))
    five_yearly = tmp_path / "f12-shaped.xlsx"
    write_f22(five_yearly, raw, years=range(1950, 2036, 5))  # an F12 under F22's name
    files = {**extracted.files, F22: five_yearly.read_bytes()}
    with pytest.raises(ParseError, match=rf"^{F22}, sheet 'Data', row 17: expected the header"):
        UnWup().parse(Extracted(files, "test", datetime.now(UTC)))


def test_mirror_with_and_without_f22(tmp_path, raw):
    mirror = make_mirror(tmp_path / "mirror", {UnWup.urls[F12]: WUP / F12})
    assert set(UnWup().extract(MirrorTransport(mirror)).files) == {F12}
    write_f22(mirror_path(mirror, UnWup.urls[F22]), raw)
    assert set(UnWup().extract(MirrorTransport(mirror)).files) == {F12, F22}


def test_f22_missing_is_skipped_but_an_outage_or_a_missing_f12_fails(tmp_path):
    with FileServer(WUP) as server:
        base = f"{server.url}/files/"
        http = HttpTransport(tmp_path / "cache", retries=1, sleep=lambda s: None)
        cases = {
            "absent": _urls(base),
            "outage": _urls(base, f"{server.url}/fault/500/99/{F12}"),
            "no F12": UnWup(UnWup.Settings(urls={F12: base + "nothing.xls"})),
        }
        outcomes = {}
        for case, source in cases.items():
            try:
                outcomes[case] = sorted(source.extract(http).files)
            except FetchFailed as error:
                outcomes[case] = str(error)
        http.close()
    assert outcomes["absent"] == [F12]
    assert "HTTP 500" in outcomes["outage"]
    assert "nothing.xls: HTTP 404" in outcomes["no F12"]


def test_annual_values_fill_the_years_between_and_f12_wins_where_both_give_one(
    registry_copy, tmp_path, raw
):
    """Both files over HTTP, F22 made here with one five-yearly value that disagrees with
    F12's: every agglomeration resolved, F22's years between F12's loaded, F12 kept."""
    tokyo = int(raw.loc[raw["name"] == "Tokyo", "city_code"].iloc[0])
    f12_2010 = float(raw.loc[raw["name"] == "Tokyo", "2010"].iloc[0])
    served = tmp_path / "served"
    served.mkdir()
    (served / F12).symlink_to(WUP / F12)
    written = write_f22(served / F22, raw, changed=("Tokyo", 2010, f12_2010 + 50))
    recorder = Recorder()
    with served_over_http(served, tmp_path / "cache", as_mirror=False) as (url, http):
        report = load_recorded(registry_copy, _urls(f"{url}/files/"), http, recorder)
    assert report.status == "success", report.error
    conformed = recorder.kept["conformed"]
    observation, aliases = conformed.observation, conformed.city_alias
    city = aliases.loc[aliases["alias"] == str(tokyo), "city_id"].iloc[0]
    series = observation[observation["city_id"] == city].set_index("period")
    assert list(series.index.sort_values()) == list(range(1950, 2036))  # every year
    assert series.loc[2010, "value"] == pytest.approx(f12_2010 * 1000)  # F12 kept, not +50
    assert series.loc[2010, "dataset_id"] == "wup2018-f12"
    assert series.loc[2011, "value"] == pytest.approx(written[tokyo][2011] * 1000)
    assert series.loc[2011, "dataset_id"] == "wup2018-f22"
    assert series.loc[2019, "flag"] == "f" and pd.isna(series.loc[2017, "flag"])
    assert "1 five-yearly values differ from F12" in " ".join(conformed.notes)
    # F22's cities gain 86 - 18 annual values each; everyone else keeps F12's 18 at most
    per_city = observation.groupby("city_id").size()
    assert (per_city >= 86).sum() == len(written)  # all three resolve
    assert len(observation) == len(observation.drop_duplicates(["city_id", "period"]))
    # and the warehouse holds them: every agglomeration loaded or reported
    codes = query(registry_copy, "SELECT count(*) FROM city_alias WHERE scheme = 'un-wup'")[0][0]
    reported = query(registry_copy, "SELECT count(*) FROM rejected WHERE source_id = 'un-wup' "
                                    "AND check_name LIKE 'resolve:%'")[0][0]
    assert codes + reported == 1860
    five_yearly = query(registry_copy, "SELECT count(*) FROM observation WHERE source_id = "
                                       "'un-wup' AND dataset_id = 'wup2018-f12'")[0][0]
    assert five_yearly >= 18 * codes * 0.99  # nearly every agglomeration has all 18 years
    annual = query(registry_copy, "SELECT count(*), count(DISTINCT city_id) FROM observation "
                                  "WHERE source_id = 'un-wup' AND dataset_id = 'wup2018-f22'")
    assert annual == [(len(written) * (86 - 18), len(written))]
    assert query(registry_copy, "SELECT dataset_id FROM dataset WHERE source_id = 'un-wup' "
                                "ORDER BY 1") == [("wup2018-f12",), ("wup2018-f22",)]
    assert report.rows_loaded == len(observation) == five_yearly + annual[0][0]
