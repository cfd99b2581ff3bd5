"""Wikidata SPARQL answers: the one real recorded answer (read in place) for the parser, our own
answers in the same format (tests/data/wikidata, see its README) for what the source loads."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from flows.sources.base import Extracted
from flows.sources.sparql import read_results
from flows.sources.wikidata import ENTITY, QUERIES, Wikidata, query_url
from tests.conftest import query
from tests.source_fixtures import (
    DATA,
    WIKIDATA_ANSWERS,
    WIKIDATA_REAL,
    needs_sample,
    read_registry_file,
    sample_run,
)
from warehouse.parse_error import ParseError

REAL = WIKIDATA_REAL
pytestmark = needs_sample("wikidata")
RETRIEVED = datetime(2026, 3, 1, tzinfo=UTC)


def bindings(path) -> list[dict]:
    return json.loads(path.read_bytes())["results"]["bindings"]


def extracted(**files: bytes) -> Extracted:
    answers = {name: path.read_bytes() for name, path in WIKIDATA_ANSWERS.items()}
    return Extracted({**answers, **files}, None, RETRIEVED)


@pytest.fixture(scope="module")
def cities(registry):
    """The registry's frames, which the answers resolve against."""
    return read_registry_file(registry)


def conformed(registry, **files: bytes):
    source = Wikidata()
    raw = source.parse(extracted(**files))
    valid = {name: model.validate(raw[name]) for name, model in source.raw_contracts().items()}
    return source.conform(valid, registry)


@pytest.fixture(scope="module")
def ours(cities):
    """Every query answered by our own files, cities with dated populations."""
    return conformed(cities, cities=(DATA / "wikidata" / "cities.sparql.json").read_bytes())


def tally(result, dataset: str) -> tuple[int, int]:
    """(bindings, sum of the parts) of the note that accounts for a dataset's bindings."""
    note = next(n for n in result.notes if n.startswith(f"{dataset}: ") and "bindings:" in n)
    total, parts = note.split(" bindings: ")
    numbers = [int(n.replace(",", "")) for n in re.findall(r"(?:^|, )([\d,]+) ", parts)]
    return int(total.split(": ")[1].replace(",", "")), sum(numbers)


# --- the parser, on the real recorded answer ----------------------------------------------------


def test_every_binding_of_the_real_answer_is_read():
    raw = json.loads(REAL.read_bytes())
    frame = read_results("real", REAL.read_bytes(), set(), ENTITY)
    assert len(frame) == len(raw["results"]["bindings"]) == 285
    assert list(frame.columns) == raw["head"]["vars"]
    for var in raw["head"]["vars"]:  # an unbound optional variable is missing, not empty
        bound = sum(var in b for b in raw["results"]["bindings"])
        assert frame[var].notna().sum() == bound, var
    assert frame["flag"].isna().sum() == 89
    isparta = frame.iloc[0]
    assert isparta["cityLabel"] == "Isparta"  # xml:lang "de"
    assert isparta["country"] == "Q43"  # an entity IRI becomes its QID
    assert isparta["location"] == (30.55, 37.766666666)  # WKT is lon lat
    assert isparta["inhabitants"] == 258375.0  # xsd:decimal
    assert isparta["plzMin"] == "32000"  # a plain literal stays text
    assert frame["inhabitants"].tolist() == [
        float(b["inhabitants"]["value"]) for b in raw["results"]["bindings"]]
    # a label the label service could not find is the QID, without language
    assert (frame["cityLabel"] == "Q12073682").sum() == 2


def test_real_answer_as_the_cities_query_reports_every_undated_population(cities):
    result = conformed(cities)
    assert tally(result, "cities") == (285, 285)
    undated = result.unresolved[result.unresolved["status"] == "no date"]
    assert len(undated) == 285
    assert set(undated["key"]) == {f"cities#{i}" for i in range(285)}  # no QID in this answer
    assert "Wien" in set(undated["name"])
    assert not (result.observation["indicator_id"] == "wikidata_population").any()


def _variant(path, change) -> bytes:
    document = json.loads(path.read_bytes())
    change(document)
    return json.dumps(document).encode()


def _set(path: list, value):
    def change(document):
        target = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return change


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (lambda: _variant(REAL, _set(["results", "bindings", 0, "location", "value"],
                                     "Point(30.55)")),
         r"\$\.results\.bindings\[0\]\.location: expected a WKT point"),
        (lambda: _variant(REAL, _set(["results", "bindings", 3, "inhabitants", "value"], "7O")),
         r"\$\.results\.bindings\[3\]\.inhabitants: expected a number"),
        (lambda: _variant(REAL, _set(["head", "vars"], ["country", "cityLabel", "location"])),
         r"\$\.head\.vars: expected the variables inhabitants"),
        (lambda: _variant(REAL, _set(["results", "bindings"], {"0": {}})),
         r"\$\.results\.bindings: expected a JSON list"),
        (lambda: _variant(REAL, _set(["results", "bindings", 7, "country"], "Q43")),
         r"\$\.results\.bindings\[7\]\.country: expected an RDF term"),
    ],
)
def test_answers_unlike_sparql_results_name_the_json_path(data, where):
    with pytest.raises(ParseError, match=r"^sparql \[cities query\], " + where):
        Wikidata().parse(extracted(cities=data()))


# --- what the source loads, from our answers ----------------------------------------------------


def _city(registry, name, country):
    cities = registry.cities
    found = cities[(cities["name"] == name) & (cities["country_iso2"] == country)]
    return found.sort_values("population").iloc[-1]["city_id"]


def test_every_binding_is_accounted_for(ours):
    for dataset in ("cities", "areas", "networks", "twinning"):
        total, parts = tally(ours, dataset)
        answer = DATA / "wikidata" / f"{dataset}.sparql.json"
        assert total == parts == len(bindings(answer)), dataset


def test_latest_dated_population_and_areas_in_km2(ours, cities):
    values = {
        (row.city_id, row.indicator_id, row.period): row.value
        for row in ours.observation.itertuples()
    }
    london, paris = _city(cities, "London", "GB"), _city(cities, "Paris", "FR")
    assert values[(london, "wikidata_population", 2021)] == 8_866_180  # not the 2011 value
    assert (london, "wikidata_population", 2011) not in values
    assert values[(_city(cities, "Munich", "DE"), "wikidata_population", 2022)] == 1_512_491
    assert values[(paris, "area_km2", 2020)] == pytest.approx(105.4)  # 10,540 ha
    assert values[(_city(cities, "Berlin", "DE"), "area_km2", RETRIEVED.year)] == 891.12
    nyc = _city(cities, "New York City", "US")
    assert values[(nyc, "area_km2", RETRIEVED.year)] == pytest.approx(302.6 * 2.589988, 1e-6)
    assert values[(_city(cities, "Prague", "CZ"), "area_km2", 2020)] == 496.21
    # the same area in km2 and in hectares is one value, not a conflict
    assert values[(_city(cities, "Vienna", "AT"), "area_km2", RETRIEVED.year)] == 414.87
    assert ours.observation["dataset_id"].isin(["cities", "areas"]).all()


def test_what_is_not_loaded_is_reported_with_its_reason(ours):
    reported = {(r.key, r.status) for r in ours.unresolved.itertuples()}
    assert ("Q1741", "conflicting") in reported  # Vienna: two populations for one date
    assert ("Q1726", "unknown unit") in reported  # Munich's area in metres
    assert ("Q504125", "duplicate") in reported  # Copenhagen Municipality after Copenhagen
    assert ("Q5705", "unmatched") in reported  # Catalonia, a region in a city network
    assert ("Q999000001", "unmatched") in reported
    famagusta = ours.unresolved.set_index("key").loc["Q170123"]
    assert famagusta["reason"] == "no country with an ISO code (P297)"
    assert ours.unresolved["reason"].str.len().gt(0).all()


def test_qids_become_aliases_geonames_ids_first(ours, cities):
    aliases = ours.city_alias.set_index("alias")
    assert (aliases["scheme"] == "wikidata").all()
    london = aliases.loc["Q84"]
    assert (london["city_id"], london["method"], london["confidence"]) == (
        _city(cities, "London", "GB"), "geonames id (P1566)", 1.0)
    # no GeoNames id (Munich), or one that is no registry city (Tokyo's is the prefecture's)
    assert aliases.loc["Q1726", "city_id"] == _city(cities, "Munich", "DE")
    assert aliases.loc["Q1490", "city_id"] == _city(cities, "Tokyo", "JP")
    assert aliases.loc["Q1490", "method"].startswith("name")
    assert aliases.loc["Q64", "city_id"] == _city(cities, "Berlin", "DE")  # two P1566, one city


def test_networks_found_by_search_and_their_member_cities(ours, cities):
    networks = ours.network.set_index("wikidata_qid")
    assert len(networks) == 6 and (networks["kind"] == "city-network").all()
    assert (networks.index.map(lambda q: f"wikidata:{q}") == networks["network_id"]).all()
    assert "Q999100002" not in networks.index  # a second search hit with fewer members
    c40 = ours.membership[ours.membership["network_id"] == "wikidata:Q999100001"]
    assert set(c40["city_id"]) >= {_city(cities, "London", "GB"), _city(cities, "Tokyo", "JP")}
    assert len(c40) == 7 and (c40["value"] == 1).all()
    barcelona = ours.membership[ours.membership["city_id"] == _city(cities, "Barcelona", "ES")]
    assert len(barcelona) == 4  # Eurocities (listed twice), UCLG, Metropolis, Intercultural
    # the networks' QIDs come from the search in the query, none is written in the source
    assert "EntitySearch" in QUERIES["networks"] and "P463" in QUERIES["networks"]
    assert not re.search(r"wd:Q\d+", QUERIES["networks"])


def test_twinning_links_are_undirected_and_never_a_city_with_itself(ours, cities):
    links = ours.city_link
    assert (links["city_a"] < links["city_b"]).all()
    assert (links["kind"] == "twinning").all() and (links["weight"] == 1).all()
    city = {name: _city(cities, name, country) for name, country in [
        ("Paris", "FR"), ("Rome", "IT"), ("Berlin", "DE"), ("Warsaw", "PL"), ("Tokyo", "JP"),
        ("New York City", "US"), ("Beijing", "CN")]}
    expected = [("Paris", "Rome"), ("Berlin", "Paris"), ("Berlin", "Warsaw"),
                ("Tokyo", "New York City"), ("Beijing", "Paris")]
    assert set(zip(links["city_a"], links["city_b"], strict=True)) == {
        tuple(sorted((city[a], city[b]))) for a, b in expected}


# --- the URLs and the way in ------------------------------------------------------------------


def test_each_query_has_one_stable_url():
    for name, text in QUERIES.items():
        url = Wikidata.urls[name]
        assert url == query_url(text) == query_url(text)
        parts = urlsplit(url)
        assert (parts.scheme, parts.hostname, parts.path) == ("https", "query.wikidata.org",
                                                             "/sparql")
        asked = parse_qs(parts.query)
        assert asked["format"] == ["json"]
        assert asked["query"][0].split() == text.split()
    assert len(set(Wikidata.urls.values())) == len(QUERIES)


def test_the_load_holds_networks_links_and_areas(registry, tmp_path_factory):
    run = sample_run("wikidata", registry, tmp_path_factory)
    report = run.report

    def count(sql: str) -> int:
        return query(run.db, sql)[0][0]

    assert count("SELECT count(*) FROM network WHERE source_id = 'wikidata'") == 6
    assert count("SELECT count(*) FROM membership WHERE source_id = 'wikidata'") == 27
    assert count("SELECT count(*) FROM city_link WHERE source_id = 'wikidata'") == 5
    assert count("SELECT count(*) FROM observation WHERE source_id = 'wikidata'") == 7
    assert count("SELECT count(*) FROM rejected WHERE source_id = 'wikidata' "
                 "AND check_name = 'resolve: no date'") == 285
    assert count("SELECT count(*) FROM dataset WHERE source_id = 'wikidata'") == 5
    assert report.rows_loaded == 27 + 5 + 7
