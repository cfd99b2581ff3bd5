"""OECD functional urban areas from csvfilewithlabels responses made here (invented values; see
tests/data/oecd/README.md): what is read, how areas become cities, the rate limit, and broken
responses."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from flows.pipeline import HOST_LIMITS, make_transport
from flows.sources.oecd import DENSITY, ECONOMY, POPULATION, Oecd
from flows.transport import FetchFailed, HostLimit, HttpTransport
from tests.conftest import query
from tests.http_server import FileServer
from tests.source_fixtures import DATA, OECD_FILES, sample_fixture
from warehouse.parse_error import ParseError

FILES = {name: DATA / "oecd" / file for name, file in OECD_FILES.items()}
LOADED = {  # dataflow -> (MEASURE, UNIT_MEASURE) pairs the source loads
    POPULATION: {("POP", "PS")},
    DENSITY: {("POP_DEN", "PS_KM2")},
    ECONOMY: {("GDP", "USD_PPP"), ("GDP", "USD_PPP_PS")},
}


def _rows(name):
    with FILES[name].open(newline="") as handle:
        return list(csv.DictReader(handle))


def _expected_values(name):
    """Rows the source should load, counted from the file itself."""
    return [
        r for r in _rows(name)
        if (r["MEASURE"], r["UNIT_MEASURE"]) in LOADED[name] and r["REF_AREA"].endswith("F")
        and r.get("AGE", "_T") == "_T" and r.get("SEX", "_T") == "_T" and r["OBS_VALUE"] != ""
    ]


run = sample_fixture("oecd")


def test_every_fua_value_of_the_loaded_measures_is_read(run):
    values = run.parsed["values"]
    for name in FILES:
        assert (values["dataflow"] == name).sum() == len(_expected_values(name))
    assert run.raw["values"].rejected_rows == 0
    assert run.parsed["datasets"]["title"].tolist() == [
        "Population by age and sex", "Population density", "Economy - FUAs"]
    assert not values["code"].str.endswith("C").any()  # cores are not loaded


def test_values_read_back_with_flags_units_and_missing_left_out(run):
    conformed = run.conformed
    aliases = conformed.city_alias.set_index("alias")["city_id"]
    observation = conformed.observation.assign(
        code=lambda f: f["city_id"].map({v: k for k, v in aliases.items()})
    ).set_index(["code", "indicator_id", "period"])
    assert observation.loc[("DEU01F", "fua_population", 2021), "value"] == 5_100_000
    assert observation.loc[("DEU02F", "fua_population", 2021), "flag"] == "e"
    assert observation.loc[("DEU01F", "fua_gdp", 2019), "value"] == 255_000.0 * 1e6
    assert observation.loc[("DEU01F", "fua_gdp", 2020), "flag"] == "p"
    assert observation.loc[("AT001F", "fua_population_density", 2020), "value"] == 967
    assert ("JPN01F", "fua_population", 2019) not in observation.index  # missing, not zero
    assert ("JPN01F", "fua_population", 2020) in observation.index


def test_areas_resolve_to_cities_or_are_reported(run):
    conformed = run.conformed
    aliases = conformed.city_alias
    assert (aliases["scheme"] == "oecd").all()
    assert sorted(aliases["alias"]) == ["AT001F", "DEU01F", "DEU02F", "JPN01F", "MEX01F",
                                        "USA01F"]
    names = run.registry.cities.set_index("city_id")["name"]
    resolved = {a: names[c] for a, c in zip(aliases["alias"], aliases["city_id"], strict=True)}
    assert resolved["AT001F"] == "Vienna" and resolved["DEU01F"] == "Berlin"
    unresolved = conformed.unresolved.set_index("key")
    assert set(unresolved.index) == {"USA02F", "CAN99F", "ZZ001F"}
    assert unresolved.loc["USA02F", "status"] == "duplicate"
    assert "USA01F" in unresolved.loc["USA02F", "reason"]
    assert unresolved.loc["CAN99F", "status"] == "unmatched"
    assert "no country" in unresolved.loc["ZZ001F", "reason"]
    # every value of a resolved area is an observation, nothing else
    loaded = sum(
        1 for name in FILES for r in _expected_values(name) if r["REF_AREA"] in resolved
    )
    assert len(conformed.observation) == loaded


def test_one_request_per_dataflow_and_the_limit_holds_across_runs(tmp_path):
    assert {urlsplit(url).hostname for url in Oecd.urls.values()} == {"sdmx.oecd.org"}
    publisher = make_transport(tmp_path / "w.duckdb", None)
    assert publisher.limits["sdmx.oecd.org"] == HOST_LIMITS["sdmx.oecd.org"]
    publisher.close()
    with FileServer(DATA / "oecd") as server:
        source = Oecd(Oecd.Settings(urls={name: f"{server.url}/files/{file}"
                                          for name, file in OECD_FILES.items()}))
        # the OECD's allowance shrunk to one refresh's worth of requests
        limits = {"127.0.0.1": HostLimit(requests=len(FILES), per_seconds=3600)}
        first = HttpTransport(tmp_path / "cache", limits=limits, sleep=lambda s: None)
        source.extract(first)
        first.close()
        assert len(server.requests) == len(FILES)
        later = HttpTransport(tmp_path / "cache", limits=limits, sleep=lambda s: None)
        with pytest.raises(FetchFailed, match=f"allows {len(FILES)} requests per 3600 s"):
            source.extract(later)
        later.close()
    assert len(server.requests) == len(FILES)  # the refused run sent nothing


def _broken(run, name, content):
    return Oecd().parse(replace(run.extracted, files={**run.extracted.files, name: content}))


def test_cells_and_headers_unlike_sdmx_csv_name_their_position(run):
    economy = FILES[ECONOMY].read_text()
    with pytest.raises(ParseError, match=r"line 2, column OBS_VALUE: expected a number"):
        _broken(run, ECONOMY, economy.replace(",255000.0,", ",2x5000,", 1).encode())
    # format=csvfile instead of csvfilewithlabels: no label column after REF_AREA
    rows = list(csv.reader(io.StringIO(economy, newline="")))
    label = rows[0].index("Reference area")
    plain = io.StringIO()
    csv.writer(plain, lineterminator="\n").writerows([r[:label] + r[label + 1:] for r in rows])
    with pytest.raises(ParseError, match=r"line 1: expected the label column after REF_AREA"):
        _broken(run, ECONOMY, plain.getvalue().encode())
    with pytest.raises(ParseError, match=r"line \d+: expected well-formed CSV"):
        _broken(run, DENSITY, FILES[DENSITY].read_bytes().replace(b",Wien,", b',"Wien,', 1))


def test_the_load_holds_what_was_conformed(run):
    held = query(run.db, "SELECT count(*) FROM observation WHERE source_id = 'oecd'")
    codes = query(run.db, "SELECT count(*) FROM city_alias WHERE scheme = 'oecd'")
    assert (held[0][0], codes[0][0]) == (len(run.conformed.observation),
                                         len(run.conformed.city_alias))
