"""Eurostat city statistics from the real files in ../shared (the urb_cecfi bulk TSV of 2018,
the legacy Data Explorer export of urb_cpop1, the 2017 code list, the formula annex), read in
place, and from files written here in the formats of which no real copy is at hand (JSON-stat,
SDMX-CSV: tests/data/eurostat, invented values)."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pandas as pd
import pytest

from flows.sources.base import Extracted
from flows.sources.eurostat import CODELIST, DATASETS, FORMULAS, Eurostat
from flows.sources.eurostat_formats import EurostatRefusal, read_dataset, read_formulas
from flows.sources.eurostat_formulas import (
    FormulaError,
    Number,
    Operation,
    Variable,
    derived,
    parse_formula,
    variables,
)
from flows.sources.eurostat_places import label_pattern, letters, readable_name, spatial_unit
from flows.transport import MirrorTransport
from tests.conftest import load, query
from tests.source_fixtures import DATA as TEST_DATA
from tests.source_fixtures import (
    EUROSTAT,
    PUBLISHED_FILES,
    make_mirror,
    needs_sample,
    read_registry_file,
    sample_run,
)
from warehouse.parse_error import ParseError

EU = EUROSTAT
DATA = TEST_DATA / "eurostat"
pytestmark = needs_sample("eurostat")
CECFI_LINE = re.compile(r"^(?P<indicator>[A-Z0-9]+),(?P<code>\S+)$")


def _extracted(**datasets: bytes) -> Extracted:
    files = {CODELIST: (EU / "regions.csv").read_bytes(),
             FORMULAS: (EU / "urb_esms_an2.csv").read_bytes(), **datasets}
    return Extracted(files, "test", datetime.now(UTC))


@pytest.fixture(scope="module")
def cities(registry):
    """The registry's frames, which Eurostat's cities resolve against."""
    return read_registry_file(registry)


def _conformed(registry, **datasets: bytes):
    raw = Eurostat().parse(_extracted(**datasets))
    valid = {name: model.validate(raw[name]) for name, model in Eurostat.raw_contracts().items()}
    return raw, Eurostat().conform(valid, registry)


def _cecfi_cells() -> list[tuple[str, str, int, float, str | None]]:
    """Every non-missing cell of the real urb_cecfi.tsv, read here without the source's code:
    (indicator, spatial code, year, value, flag)."""
    lines = (EU / "urb_cecfi.tsv").read_text().splitlines()
    years = [int(y) for y in lines[0].split("\t")[1:]]
    cells = []
    for line in lines[1:]:
        key, *values = line.split("\t")
        found = CECFI_LINE.match(key)
        for year, cell in zip(years, values, strict=True):
            number, _, flag = cell.strip().partition(" ")
            if number != ":":
                cells.append((found["indicator"], found["code"], year, float(number),
                              flag or None))
    return cells


# --- the formats ------------------------------------------------------------------------------


def test_every_format_gives_the_same_cells():
    tables = {name: read_dataset(name, (DATA / name).read_bytes(), {}).cells
              for name in ("cells.json", "cells_arrays.json", "cells.sdmx.csv", "cells.tsv")}
    ordered = {name: cells.sort_values(["indicator", "spatial", "period"]).reset_index(drop=True)
               for name, cells in tables.items()}
    first = ordered.pop("cells.json")
    for cells in ordered.values():
        pd.testing.assert_frame_equal(cells, first)
    # ':' is missing, never zero; ': c' keeps its flag with no value
    tsv = [line.split("\t")[1:] for line in (DATA / "cells.tsv").read_text().splitlines()[1:]]
    written = [cell.strip() for cells in tsv for cell in cells if cell.strip() != ":"]
    assert len(first) == len(written)
    assert (first["value"].isna() & (first["flag"] == "c")).sum() == written.count(": c") > 0
    assert first["value"].notna().sum() == sum(not c.startswith(":") for c in written)
    assert not (first["value"] == 0).any()


def test_real_cells_read_the_same_from_json_stat_sdmx_csv_and_the_current_tsv():
    """A few series of the real urb_cecfi.tsv (2018 layout, old codes) rewritten in memory in
    the current formats: every reader gives the cells the old TSV gave."""
    lines = (EU / "urb_cecfi.tsv").read_text().splitlines()
    years = [y.strip() for y in lines[0].split("\t")[1:]]
    wanted = {"AT001C1", "BE001C1", "DE001C1", "FR003C2", "AT", "AT001K1", "CZ001C1", "UK586C1"}
    chosen = [line for line in lines[1:] if line.split("\t")[0].split(",")[1] in wanted]
    series = {tuple(line.split("\t")[0].split(",")): [c.strip() for c in line.split("\t")[1:]]
              for line in chosen}
    indicators = sorted({i for i, _ in series})
    places = sorted({p for _, p in series})
    value, status, csv_rows = {}, {}, ["DATAFLOW,LAST UPDATE,freq,indic_ur,cities,TIME_PERIOD,"
                                      "OBS_VALUE,OBS_FLAG"]
    tsv = ["freq,indic_ur,cities\\TIME_PERIOD\t" + "\t".join(f"{y} " for y in reversed(years))]
    for (indicator, place), cells in sorted(series.items()):
        tsv.append(f"A,{indicator},{place}\t" + "\t".join(f"{c} " if " " not in c else c
                                                         for c in reversed(cells)))
        for year, cell in zip(years, cells, strict=True):
            number, _, flag = cell.partition(" ")
            at = (indicators.index(indicator) * len(places) + places.index(place)) * len(years)
            at += years.index(year)
            if number != ":":
                value[str(at)] = float(number)
            if flag:
                status[str(at)] = flag
            if number != ":" or flag:
                csv_rows.append(f"ESTAT:URB_CECFI(1.0),01/01/19 23:00:00,A,{indicator},{place},"
                                f"{year},{'' if number == ':' else number},{flag}")
    dimension = {
        "freq": {"category": {"index": {"A": 0}}},
        "indic_ur": {"category": {"index": {c: n for n, c in enumerate(indicators)}}},
        "cities": {"category": {"index": {c: n for n, c in enumerate(places)}}},
        "time": {"category": {"index": years}},
    }
    stat = {"version": "2.0", "class": "dataset", "id": ["freq", "indic_ur", "cities", "time"],
            "size": [1, len(indicators), len(places), len(years)], "dimension": dimension,
            "value": value, "status": status}
    old = read_dataset("old.tsv", "\n".join([lines[0], *chosen, ""]).encode(), {}).cells
    keys = ["indicator", "spatial", "period"]
    expected = old.sort_values(keys).reset_index(drop=True)
    assert len(expected) >= 40 and expected["value"].isna().sum() >= 2
    for name, body in (("stat.json", json.dumps(stat)), ("sdmx.csv", "\n".join(csv_rows) + "\n"),
                       ("current.tsv", "\n".join(tsv) + "\n")):
        cells = read_dataset(name, body.encode(), {}).cells
        pd.testing.assert_frame_equal(cells.sort_values(keys).reset_index(drop=True), expected)


def test_json_stat_status_folds_confidentiality_and_tolerates_a_single_category():
    document = {
        "version": "2.0", "class": "dataset", "id": ["indic_ur", "cities", "time"],
        "size": [1, 2, 2], "value": [10.5, None, None, 7], "status": ["p", "|C", None, "e|C"],
        "dimension": {"indic_ur": {"category": {"label": {"DE1001V": "Population"}}},
                      "cities": {"category": {"index": ["AT001C", "DE001C"],
                                              "label": {"AT001C": "Wien"}}},
                      "time": {"category": {"index": {"2020": 0, "2021": 1}}}},
    }
    table = read_dataset("t.json", json.dumps(document).encode(), {})
    rows = table.cells.to_dict("records")
    assert [(r["spatial"], r["period"], r["flag"]) for r in rows] == [
        ("AT001C", 2020, "p"), ("AT001C", 2021, "c"), ("DE001C", 2021, "ec")]
    assert pd.isna(rows[1]["value"]) and rows[2]["value"] == 7
    assert table.place_names == {"AT001C": "Wien"}


ASYNC_JSON = b'{"warning":{"status":413,"label":"ASYNCHRONOUS_RESPONSE. Your request will be ' \
             b'treated asynchronously. Please try again later."}}'
ASYNC_SOAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header/><env:Body>
<ns0:syncResponse xmlns:ns0="http://estat.ec.europa.eu/disschain/soap/extraction">
<processingTime>1797</processingTime><queued><id>5b3f1e2a-0d6c-4a59-9a1c-3f0e9d5e7c11</id>
<status>SUBMITTED</status></queued></ns0:syncResponse></env:Body></env:Envelope>"""


def test_an_asynchronous_answer_fails_with_one_line_telling_to_filter():
    url = Eurostat.urls["urb_ctour"]
    with pytest.raises(EurostatRefusal) as stat:
        read_dataset(url, ASYNC_JSON, {})
    with pytest.raises(EurostatRefusal) as soap:
        read_dataset(Eurostat.urls["urb_cecfi"], ASYNC_SOAP, {})
    for error in (stat.value, soap.value):
        message = str(error)
        assert "\n" not in message and "asynchronous" in message and "indic_ur" in message
    assert str(stat.value).startswith(url)
    assert "5b3f1e2a-0d6c-4a59-9a1c-3f0e9d5e7c11" in str(soap.value)
    refused = b'{"error":[{"status":400,"id":150,"label":"Semantic error: no such dimension"}]}'
    with pytest.raises(EurostatRefusal, match="Semantic error: no such dimension"):
        read_dataset(url, refused, {})


def test_a_json_stat_grid_unlike_its_sizes_names_the_json_path():
    body = (DATA / "urb_cpopcb.json").read_bytes()
    document = json.loads(body)
    document["value"] = document["value"] | {"99999": 1}
    cells = 1
    for size in document["size"]:
        cells *= size
    with pytest.raises(ParseError, match=rf"\$\.value\['99999'\]: expected an index below {cells}"):
        read_dataset("x.json", json.dumps(document).encode(), {})
    document = json.loads(body)
    document["size"][1] += 1
    with pytest.raises(ParseError, match=r"\$\.dimension\.indic_ur\.category\.index"):
        read_dataset("x.json", json.dumps(document).encode(), {})


# --- formulas ---------------------------------------------------------------------------------


def test_every_formula_of_the_annex_parses_into_a_tree():
    rows = list(csv.reader((EU / "urb_esms_an2.csv").open(encoding="utf-8")))[1:]
    trees = {row[0]: derived(row[2], row[3]) for row in rows}
    assert len(trees) == 62
    assert trees["CR1003I"] == Operation("/", Operation("*", Variable("CR1003V"), Number(1000)),
                                         Variable("DE1001V"))
    lagged = trees["DE1061I"]
    assert lagged.right == Variable("DE1001V", lag=1)
    # the annex's stray space in 'DE 1058V' is the same variable
    assert Variable("DE1058V") in variables(trees["DE1058I"])


@pytest.mark.parametrize("text", ["DE1001V +", "(DE1001V", "DE1001V ** 2", "__import__('os')",
                                  "DE1001V DE1002V", ""])
def test_formulas_outside_the_grammar_are_refused(text):
    with pytest.raises(FormulaError):
        parse_formula(text)


# --- places -----------------------------------------------------------------------------------


def test_spatial_codes_old_and_new():
    assert spatial_unit("AT001C1").current == spatial_unit("AT001C").current == "AT001C"
    assert spatial_unit("FR003C2").level == "city"
    assert spatial_unit("EL001C1").country == "GR" and spatial_unit("UK001K1").country == "GB"
    assert spatial_unit("UK001K1").level == "greater city"
    assert spatial_unit("AT001F").level == spatial_unit("AT001L2").level == "functional urban area"
    assert spatial_unit("EL").level == "country" and spatial_unit("EL").country == "GR"
    assert spatial_unit("NL521C1 ").current == "NL521C"
    assert spatial_unit("CH002T1").level == "other"
    assert readable_name("Rozas de Madrid, Las") == "Las Rozas de Madrid"
    assert label_pattern("M\ufffdnchen").fullmatch(letters("München"))
    assert label_pattern("L\ufffdd\ufffd").fullmatch(letters("Łódź"))
    assert not label_pattern("K\ufffdln").fullmatch(letters("Kiel"))


# --- the real urb_cecfi, end to end ---------------------------------------------------------


@pytest.fixture(scope="module")
def cecfi(cities):
    return _conformed(cities, urb_cecfi=(EU / "urb_cecfi.tsv").read_bytes())


def test_every_cell_of_urb_cecfi_is_loaded_with_its_flag_or_reported(cecfi):
    raw, conformed = cecfi
    cells = _cecfi_cells()
    assert len(cells) == 7353 == raw["cells"]["value"].notna().sum()
    crosswalk = conformed.city_alias.set_index("alias")["city_id"]
    observed = conformed.observation[conformed.observation["indicator_id"].isin(
        ["eurostat_ec2021v", "eurostat_ec2039v"])]
    expected, reported, greater, countries = set(), {}, 0, 0
    for indicator, code, year, value, flag in cells:
        if re.fullmatch(r"[A-Z]{2}", code):
            countries += 1
        elif code[5] == "K":
            greater += 1
        elif code[:5] + "C" in crosswalk.index:
            expected.add((crosswalk[code[:5] + "C"], "eurostat_" + indicator.lower(), year,
                          value, flag))
        else:
            reported[code[:5] + "C"] = reported.get(code[:5] + "C", 0) + 1
    loaded = {(r.city_id, r.indicator_id, r.period, r.value, None if pd.isna(r.flag) else r.flag)
              for r in observed.itertuples()}
    assert loaded == expected
    assert len(observed) == len(expected) > 5000
    unresolved = conformed.unresolved.set_index("key")
    for code, n in reported.items():
        assert f"({n:,} values not loaded)" in unresolved.at[code, "reason"], code
    assert len(expected) + sum(reported.values()) + greater + countries == len(cells)
    assert set(conformed.unresolved["status"]) <= {"unmatched", "ambiguous", "duplicate",
                                                   "unnamed", "low confidence"}


def test_known_cells_of_urb_cecfi_and_missing_ones(cecfi, cities):
    registry = cities
    _, conformed = cecfi
    crosswalk = conformed.city_alias.set_index("alias")["city_id"]
    names = registry.cities.set_index("city_id")["name"]
    assert names[crosswalk["AT001C"]] in {"Vienna", "Wien"}
    observation = conformed.observation.set_index(["city_id", "indicator_id", "period"])
    wien = observation.loc[(crosswalk["AT001C"], "eurostat_ec2021v", 2008)]
    assert (wien["value"], wien["flag"]) == (70660, "d")
    brussels = observation.loc[(crosswalk["BE001C"], "eurostat_ec2021v", 2016)]
    assert (brussels["value"], brussels["flag"]) == (101131, "e")
    # ': u' and ': b' are missing values with a flag: never loaded, never zero
    absent = 0
    for line in (EU / "urb_cecfi.tsv").read_text().splitlines()[1:]:
        key, *cells = line.split("\t")
        indicator, code = key.split(",")
        for year, cell in zip(range(2017, 1990, -1), cells, strict=True):
            if cell.strip() in (": u", ": b") and code[:5] + "C" in crosswalk:
                city = crosswalk[code[:5] + "C"]
                assert (city, f"eurostat_{indicator.lower()}", year) not in observation.index
                absent += 1
    assert absent > 0
    flagged_missing = [n for n in conformed.notes if "missing with a flag" in n]
    assert flagged_missing and "5 'u'" in flagged_missing[0] and "2 'b'" in flagged_missing[0]
    assert (conformed.observation["value"] != 0).all()


def test_the_crosswalk_keeps_current_codes_and_one_code_per_city(cecfi):
    _, conformed = cecfi
    alias = conformed.city_alias
    assert (alias["scheme"] == "eurostat").all()
    assert alias["alias"].str.fullmatch(r"[A-Z]{2}\d{3}C").all()
    assert not alias["city_id"].duplicated().any()
    duplicates = conformed.unresolved[conformed.unresolved["status"] == "duplicate"]
    # Getafe and Leganes are counted within Madrid by the registry: reported, not merged
    assert {"ES513C", "ES518C"} <= set(duplicates["key"])
    assert duplicates["reason"].str.contains("ES001C").any()


def test_an_earlier_crosswalk_resolves_a_code_no_name_reaches(cities, cecfi):
    registry = cities
    _, conformed = cecfi
    wien = conformed.city_alias.set_index("alias").at["AT001C", "city_id"]
    document = json.loads((DATA / "cells.json").read_text())
    document["dimension"]["cities"]["category"]["label"]["AT001C"] = "Renamed beyond recognition"
    body = json.dumps(document).encode()
    _, alone = _conformed(registry, urb_cecfi=body)
    assert "AT001C" in set(alone.unresolved["key"])
    codes = pd.DataFrame({"scheme": ["eurostat"], "alias": ["AT001C"], "city_id": [wien],
                          "confidence": [0.95]})
    remembering = SimpleNamespace(cities=registry.cities, aliases=registry.aliases,
                                  countries=registry.countries, codes=codes)
    raw = Eurostat().parse(_extracted(urb_cecfi=body))
    valid = {name: model.validate(raw[name]) for name, model in Eurostat.raw_contracts().items()}
    again = Eurostat().conform(valid, remembering)
    assert again.city_alias.set_index("alias").at["AT001C", "city_id"] == wien
    assert "AT001C" not in set(again.unresolved["key"])


# --- the real legacy export of urb_cpop1 -------------------------------------------------------


@pytest.fixture(scope="module")
def cpop1(cities):
    return _conformed(cities, urb_cpop1=(EU / "urb_cpop1_1_Data.csv").read_bytes())


def _export_rows() -> list[dict]:
    with (EU / "urb_cpop1_1_Data.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_legacy_export_is_read_by_labels(cpop1):
    raw, conformed = cpop1
    rows = _export_rows()
    assert raw["cells"]["value"].notna().sum() == sum(r["Value"] != ":" for r in rows) == 36459
    assert set(raw["cells"]["indicator"]) == {"DE1001V", "DE1002V", "DE1003V", "DE1040V",
                                              "DE1041V"}
    crosswalk = conformed.city_alias.set_index("alias")["city_id"]
    observation = conformed.observation.set_index(["city_id", "indicator_id", "period"])
    # 'M\ufffdnchen' and 'K\ufffdln': only their ASCII parts are evidence
    for label, code in (("M\ufffdnchen", "DE003C"), ("K\ufffdln", "DE004C")):
        row = next(r for r in rows if r["CITIES"] == label and r["TIME"] == "2016"
                   and r["INDIC_UR"] == "Population on the 1st of January, total")
        held = observation.loc[(crosswalk[code], "eurostat_de1001v", 2016)]
        assert held["value"] == float(row["Value"])
        assert (None if pd.isna(held["flag"]) else held["flag"]) == (row["Flag and Footnotes"]
                                                                    or None)
    # one label for the city and its greater city: reported with the values it holds
    madrid = sum(r["CITIES"] == "Madrid" and r["Value"] != ":" for r in rows)
    reported = conformed.unresolved.set_index("key")
    assert reported.at["Madrid", "status"] == "ambiguous"
    assert f"({madrid:,} values not loaded)" in reported.at["Madrid", "reason"]
    greater = sum(r["Value"] != ":" for r in rows if r["CITIES"].endswith("(greater city)")
                  or r["CITIES"].startswith("Greater "))
    assert any(f"{greater:,} of greater city" in note for note in conformed.notes)


def test_each_city_series_holds_one_territory(cpop1, cities):
    """The export gives 'Paris' 2,220,445 residents in 2014 and 9,782,671 in 2015 (flag b):
    France's 2015 figures count other territories. Paris keeps the publisher's own city
    figures of 2009-2014, and no loaded population series moves by more than 10% a year."""
    _, conformed = cpop1
    paris = conformed.city_alias.set_index("alias").at["FR001C", "city_id"]
    assert cities.cities.set_index("city_id").at[paris, "name"] == "Paris"
    published = {int(r["TIME"]): float(r["Value"]) for r in _export_rows()
                 if r["CITIES"] == "Paris" and r["Value"] != ":"
                 and r["INDIC_UR"] == "Population on the 1st of January, total"}
    assert published[2015] == 9782671 and published[2014] == 2220445
    observed = conformed.observation
    population = observed[observed["indicator_id"] == "eurostat_de1001v"].sort_values(
        ["city_id", "period"])
    held = population[population["city_id"] == paris].set_index("period")["value"]
    assert held.to_dict() == {year: value for year, value in published.items() if year < 2015}
    assert not (observed[observed["city_id"] == paris]["period"] >= 2015).any()
    change = population.groupby("city_id")["value"].pct_change().abs()
    assert change.max() <= 0.10
    growth = observed[(observed["indicator_id"] == "eurostat_de1061i")]
    assert growth["value"].abs().max() <= 10  # percent a year, never Paris's +340%
    note = next(n for n in conformed.notes if "another territory" in n)
    assert f"{paris}: 2,220,445 in 2014 to 9,782,671 in 2015 (flag b)" in note
    assert "Spatial level: the city" in conformed.indicator.set_index(
        "indicator_id").at["eurostat_de1001v", "description"]


def test_derived_indicators_follow_eurostat_formulas_and_join_flags(cpop1):
    _, conformed = cpop1
    observation = conformed.observation.set_index(["city_id", "indicator_id", "period"])
    women = conformed.observation[conformed.observation["indicator_id"] == "eurostat_de1003i"]
    assert len(women) > 1000
    checked = 0
    for row in women.sample(200, random_state=1).itertuples():
        female = observation.loc[(row.city_id, "eurostat_de1003v", row.period)]
        male = observation.loc[(row.city_id, "eurostat_de1002v", row.period)]
        assert row.value == pytest.approx(female["value"] * 100 / male["value"])
        joined = _letters(female["flag"]) | _letters(male["flag"])
        assert _letters(row.flag) == joined
        checked += bool(joined)
    assert checked > 0
    # DE1061I reads the year before (t-1): only where both years are there
    change = conformed.observation[conformed.observation["indicator_id"] == "eurostat_de1061i"]
    population = observation.xs("eurostat_de1001v", level="indicator_id")["value"]
    years = set(population.index)
    assert set(zip(change["city_id"], change["period"], strict=True)) == {
        (city, year) for city, year in years
        if (city, year - 1) in years and population[(city, year - 1)] != 0}
    row = change.iloc[0]
    now, before = population[(row.city_id, row.period)], population[(row.city_id, row.period - 1)]
    assert row.value == pytest.approx((now - before) * 100 / before)
    indicator = conformed.indicator.set_index("indicator_id")
    assert indicator.at["eurostat_de1003i", "name"] == "Women per 100 men"
    assert "DE1003V*100" in indicator.at["eurostat_de1003i", "description"]
    assert any("DE1003I" in n and "computed" in n for n in conformed.notes)


def _letters(flag) -> set[str]:
    return set() if flag is None or pd.isna(flag) else set(flag)


def test_indicator_ids_and_fallback_names(cecfi):
    _, conformed = cecfi
    indicator = conformed.indicator.set_index("indicator_id")
    assert indicator.index.str.fullmatch(r"[a-z0-9_]+").all()
    # the TSV carries no labels and none is known for EC2021V: a plain fallback, no guess
    assert indicator.at["eurostat_ec2021v", "name"] == "Eurostat city statistics variable EC2021V"
    assert indicator.at["eurostat_ec2021v", "unit"] == "not stated in the files read"


# --- loads of the default URLs ---------------------------------------------


def _mirror(tmp_path, leave_out=()):
    files = {url: path for url, path in PUBLISHED_FILES["eurostat"].items()
             if url not in leave_out}
    return make_mirror(tmp_path / "mirror", files)


def test_the_load_of_the_default_urls(registry, tmp_path_factory):
    run = sample_run("eurostat", registry, tmp_path_factory)
    report, db = run.report, run.db
    datasets = dict(query(db, "SELECT dataset_id, url FROM dataset WHERE source_id = 'eurostat'"))
    assert set(datasets) == set(DATASETS)
    held = dict(query(db, "SELECT dataset_id, count(*) FROM observation "
                          "WHERE source_id = 'eurostat' GROUP BY 1"))
    assert set(held) == set(DATASETS) and held["urb_cecfi"] > 5000
    derived_ids = {i for (i,) in query(db, "SELECT DISTINCT indicator_id FROM observation "
                                           "WHERE indicator_id LIKE 'eurostat_%i'")}
    assert {"eurostat_cr1003i", "eurostat_de2001i", "eurostat_ec1020i"} <= derived_ids
    codes = query(db, "SELECT count(*) FROM city_alias WHERE scheme = 'eurostat'")[0][0]
    reported = query(db, "SELECT count(*) FROM rejected WHERE source_id = 'eurostat' "
                         "AND check_name LIKE 'resolve:%'")[0][0]
    assert codes > 800 and reported > 50
    assert report.rows_loaded == sum(held.values())


def test_a_missing_file_fails_naming_its_url_unless_the_dataset_is_left_out(
    registry_copy, tmp_path
):
    url = Eurostat.urls["urb_cenv"]
    mirror = MirrorTransport(_mirror(tmp_path, leave_out={url}))
    failed = load(registry_copy, Eurostat(), mirror)
    assert failed.status == "failed" and url in failed.error
    chosen = [name for name in DATASETS if name != "urb_cenv"]
    report = load(registry_copy, Eurostat(Eurostat.Settings(datasets=chosen)), mirror)
    assert report.status == "success", report.error
    loaded = {d for (d,) in query(registry_copy, "SELECT dataset_id FROM dataset "
                                                 "WHERE source_id = 'eurostat'")}
    assert loaded == set(DATASETS) - {"urb_cenv"}


def test_the_annex_reads_alike_as_eurostat_spreadsheet_and_as_csv(tmp_path):
    """Eurostat publishes the annex as a workbook; the copy in ../shared is a CSV export of it.
    A workbook made here from that CSV (with a title row above the header) reads the same."""
    import openpyxl

    body = (EU / "urb_esms_an2.csv").read_bytes()
    book = openpyxl.Workbook()
    book.active.append(["Annex 2 - derived indicators (workbook made by this test)"])
    for row in csv.reader(body.decode("utf-8").splitlines()):
        book.active.append(row)
    book.save(tmp_path / "annex.xlsx")
    from_csv = read_formulas("an2.csv", body)
    from_workbook = read_formulas("an2.xlsx", (tmp_path / "annex.xlsx").read_bytes())
    pd.testing.assert_frame_equal(from_workbook, from_csv)
    assert len(from_csv) == 62
    with pytest.raises(ParseError, match=r"an2\.xlsx, byte 2,000 \(end of file\): expected an "
                                         r"Excel workbook, complete"):
        read_formulas("an2.xlsx", (tmp_path / "annex.xlsx").read_bytes()[:2000])
    broken = body.replace(b'"CR1003V*1000"', b'"CR1003V*1000 )"')
    with pytest.raises(ParseError, match=r"an2.csv, line 2: expected a formula"):
        read_formulas("an2.csv", broken)


def test_a_repeated_series_is_refused_in_formats_keyed_by_codes():
    tsv = (DATA / "cells.tsv").read_text().splitlines()
    repeated = "\n".join([*tsv, tsv[3]]) + "\n"
    with pytest.raises(ParseError, match=rf"line {len(tsv) + 1}: expected one entry .* line 4"):
        read_dataset("cells.tsv", repeated.encode(), {})


def test_a_derived_indicator_eurostat_publishes_is_loaded_not_computed(cities):
    """Where the data fetched hold Eurostat's own DE1003I, it is loaded as published and not
    computed (so no indicator mixes published and computed values)."""
    document = json.loads((DATA / "cells.json").read_text())
    index = document["dimension"]["indic_ur"]["category"]["index"]
    index["DE1003I"] = index.pop("EC2039V")
    body = json.dumps(document).encode()
    published_cells = read_dataset("x", body, {}).cells
    city_cells = published_cells[(published_cells["indicator"] == "DE1003I")
                                 & published_cells["spatial"].str.fullmatch(r"[A-Z]{2}\d{3}C")
                                 & published_cells["value"].notna()
                                 # Athens's population falls 17% from 2009 to 2011 (the
                                 # census): its years after are another territory, not loaded
                                 & (published_cells["spatial"] != "EL001C")]
    _, conformed = _conformed(cities, urb_cpop1=(EU / "urb_cpop1_1_Data.csv").read_bytes(),
                              urb_cecfi=body)
    women = conformed.observation[conformed.observation["indicator_id"] == "eurostat_de1003i"]
    assert len(women) == len(city_cells) > 0
    assert set(women["dataset_id"]) == {"urb_cecfi"}
    assert not any("DE1003I (" in note for note in conformed.notes)
