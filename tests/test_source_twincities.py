"""Twin cities listed on English Wikipedia (the twincities project's real files, read in place):
every pair loaded as a link, dropped as a city with itself, merged as a repeat, or reported."""

from __future__ import annotations

import csv
import re
from dataclasses import replace

import pytest

from flows.sources.twincities import (
    GEOCODED,
    LISTED,
    TwinCities,
    country_iso2,
    country_lookup,
)
from flows.sources.wikidata import Wikidata
from tests.conftest import copy_of, query
from tests.source_fixtures import (
    PUBLISHED_FILES,
    WIKIDATA_ANSWERS,
    load_over_http,
    needs_sample,
    sample_fixture,
)
from warehouse.parse_error import ParseError

FILES = {name: PUBLISHED_FILES["twincities"][TwinCities.urls[name]] for name in (GEOCODED,
                                                                                  LISTED)}
pytestmark = needs_sample("twincities")


def rows(name) -> list[dict]:
    with FILES[name].open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


run = sample_fixture("twincities")


def test_every_listed_pair_is_read_with_its_points(run):
    pairs = run.parsed["pairs"]
    listed, geocoded = rows(LISTED), rows(GEOCODED)
    assert len(pairs) == len(listed) == 26_114
    assert pairs[["lat1", "lat2"]].notna().all(axis=1).sum() == len(geocoded) == 25_917
    assert (pairs["dataset_id"] == LISTED).sum() == 197  # listed, not geocoded
    berat = pairs[(pairs["city1"] == "Berat") & (pairs["city2"] == "Amasya")].iloc[0]
    assert (berat["country2"], berat["lat1"], berat["lng2"]) == ("Turkey", 40.7022, 35.8331)
    assert berat["line"] == 2 and berat["file"] == LISTED
    # a quoted name with a comma is one field
    assert "Córdoba, Bolívar" in set(pairs["city2"])
    assert run.parsed["datasets"]["url"].tolist() == [TwinCities.urls[GEOCODED],
                                                      TwinCities.urls[LISTED]]


def test_every_pair_is_a_link_a_self_pair_a_repeat_or_reported(run):
    conformed = run.conformed
    note = conformed.notes[0]
    numbers = [int(n.replace(",", "")) for n in re.findall(r"(\d[\d,]*) ", note)]
    total, links, itself, repeats, reported, folded = numbers
    assert total == len(run.parsed["pairs"]) == links + itself + repeats + reported + folded
    assert folded > 100  # districts and suburbs folded into a city
    assert links == len(conformed.city_link) > 10_000
    assert reported == len(conformed.unresolved)
    assert itself >= 1 and repeats >= 1
    assert (conformed.city_link["city_a"] < conformed.city_link["city_b"]).all()
    assert (conformed.city_link["kind"] == "twinning").all()
    assert not conformed.city_link.duplicated(["city_a", "city_b", "period"]).any()
    # Wikipedia's lists are current lists: the links take the year the files were fetched
    # (the server's Last-Modified)
    assert set(conformed.city_link["period"]) == {run.extracted.stated_year()}


def _city(registry, name, country):
    cities = registry.cities
    found = cities[(cities["name"] == name) & (cities["country_iso2"] == country)]
    return found.sort_values("population").iloc[-1]["city_id"]


def test_known_pairs(run):
    registry = run.registry
    links = set(zip(run.conformed.city_link["city_a"], run.conformed.city_link["city_b"],
                    strict=True))

    def linked(a, b) -> bool:
        return tuple(sorted((_city(registry, *a), _city(registry, *b)))) in links

    assert linked(("Paris", "FR"), ("Rome", "IT"))
    assert linked(("Kyiv", "UA"), ("Kraków", "PL"))
    # 'Scotland, United Kingdom', 'Georgia (country)': Wikipedia's country names resolve
    assert linked(("Edinburgh", "GB"), ("Munich", "DE"))
    assert linked(("Tbilisi", "GE"), ("Kyiv", "UA"))
    # Nienburg twinned with Nienburg: both names resolve to one city, so no link, no report
    assert "twin_cities_raw.csv line 12171" not in set(run.conformed.unresolved["key"])


def test_a_city_counts_its_own_twins_not_its_folded_districts(run):
    """Paris had 216 twin cities: the registry folds its arrondissements and neighbours
    (Alfortville, ...) into it, and their twins came along. Wikipedia's list for Paris names
    one twin, Rome (twincities_raw.csv line 10504: 'Paris,France,Rome,Italy'); no other pair
    of the file names Paris, France."""
    paris, rome = _city(run.registry, "Paris", "FR"), _city(run.registry, "Rome", "IT")
    links = run.conformed.city_link
    mine = links[(links["city_a"] == paris) | (links["city_b"] == paris)]
    partners = set(mine["city_a"]) | set(mine["city_b"]) - {paris}
    pairs = run.parsed["pairs"]
    named = pairs[((pairs["city1"] == "Paris") & (pairs["country1"] == "France"))
                  | ((pairs["city2"] == "Paris") & (pairs["country2"] == "France"))]
    assert named[["city2", "country2"]].values.tolist() == [["Rome", "Italy"]]
    assert partners - {paris} == {rome}


def test_unresolved_pairs_name_the_side_and_the_reason(run):
    unresolved = run.conformed.unresolved.set_index("key")
    assert unresolved["reason"].str.len().gt(0).all()
    assert set(unresolved["status"]) <= {"unmatched", "low confidence", "ambiguous"}
    village = unresolved.loc["twin_cities_raw.csv line 1026"]  # a village of 2,000
    assert village["name"] == "Sankt Georgen am Walde - Lalín"
    assert village["reason"].startswith(
        "Sankt Georgen am Walde (Austria): unmatched, no city called 'Sankt Georgen am Walde' "
        "in AT")
    no_country = unresolved[unresolved["reason"].str.contains("country '' not known")]
    assert len(no_country) >= 1


def test_wikipedia_country_names(run):
    lookup = country_lookup(run.registry.countries)
    assert country_iso2("England, United Kingdom", lookup) == "GB"
    assert country_iso2("Georgia (country)", lookup) == "GE"
    assert country_iso2("Réunion, France", lookup) == "RE"  # the first part that is a country
    assert country_iso2("Brandenburg, Germany", lookup) == "DE"
    assert country_iso2("São Tomé and Príncipe", lookup) == "ST"
    assert country_iso2("Grece", lookup) is None  # a typo stays unresolved, not guessed


@pytest.mark.parametrize(
    ("variant", "where"),
    [
        (lambda d: d.replace(b"lat1,lng1", b"latitude1,lng1", 1), r"line 1: expected the header"),
        (lambda d: d.replace(b"Amasya,Turkey,40.65,", b"Amasya,Turkey,", 1),
         r"line 2: expected 8 fields"),
        (lambda d: d.replace(b",40.65,35.8331", b",40.65,35.83E1x", 1),
         r"line 2, column lng2: expected a number"),
        (lambda d: d.replace(b"Berat,Albania,40.7022,19.9583,Amasya", b'Berat,"Albania,40', 1)
         , r"line [\d,]+: expected well-formed CSV"),
    ],
)
def test_a_file_unlike_the_projects_names_its_position(run, variant, where):
    files = {**run.extracted.files, GEOCODED: variant(FILES[GEOCODED].read_bytes())}
    with pytest.raises(ParseError, match=r"^twin_cities\.csv, " + where):
        TwinCities().parse(replace(run.extracted, files=files))


def test_wikidatas_and_wikipedias_twinning_are_held_side_by_side(run, tmp_path):
    """Wikidata's twinning and Wikipedia's lists are separate sources: Wikidata's answers,
    fetched over HTTP from where its settings point, load beside the lists' links."""
    db = copy_of(run.db, tmp_path)
    served = tmp_path / "served"
    served.mkdir()
    for query_name, path in WIKIDATA_ANSWERS.items():
        (served / f"{query_name}.json").symlink_to(path)
    wikidata = load_over_http(db, served, lambda url: Wikidata(Wikidata.Settings(
        urls={q: f"{url}/files/{q}.json" for q in WIKIDATA_ANSWERS})))
    assert wikidata.status == "success", wikidata.error
    held = dict(query(db, "SELECT source_id, count(*) FROM city_link GROUP BY 1"))
    assert held["wikidata"] == 5 and held["twincities"] == run.report.rows_loaded > 10_000
    reported = query(db, "SELECT count(*) FROM rejected WHERE source_id = "
                         "'twincities' AND check_name LIKE 'resolve:%'")[0][0]
    assert reported == len(run.conformed.unresolved) > 10_000
    both = query(db, """
        SELECT count(*) FROM city_link w JOIN city_link t USING (kind, city_a, city_b)
        WHERE w.source_id = 'wikidata' AND t.source_id = 'twincities'""")[0][0]
    assert both >= 1  # Paris and Rome are twinned in both
