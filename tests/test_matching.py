"""Name and coordinate matching of source records to canonical cities."""

from __future__ import annotations

import pandas as pd
import pytest

from flows.matching import match_cities, name_key, name_variants


@pytest.mark.parametrize(
    ("left", "right"),
    [("São Paulo", "SAO PAULO"), ("St. Paul", "Saint Paul"), ("Kraków", "Krakow"),
     ("Łódź", "Lodz"), ("Be'er Sheva", "Beer Sheva"), ("Düsseldorf", "DUSSELDORF"),
     ("Århus", "Arhus"), ("Frankfurt am Main", "frankfurt-am-main")],
)
def test_names_that_should_meet_do(left, right):
    assert name_key(left) == name_key(right)


def test_names_that_should_not_meet_do_not():
    assert name_key("Newark") != name_key("New York")
    assert name_key("San José") != name_key("San Jose del Monte")


def test_compound_names_split_into_parts():
    whole, parts = name_variants("Minneapolis-St. Paul")
    assert whole == "minneapolis saint paul"
    assert parts == ["minneapolis", "saint paul"]
    assert name_variants("Al-Qahirah (Cairo)")[1][0] == "al qahirah"
    assert "cairo" in name_variants("Al-Qahirah (Cairo)")[1]
    # every cut of a hyphenated name is offered, the first-named city first
    assert name_variants("Marseille-Aix-en-Provence")[1][0] == "marseille"
    assert "aix en provence" in name_variants("Marseille-Aix-en-Provence")[1]
    assert name_variants("New York-Newark")[1] == ["new york", "newark"]
    assert "fukuoka" in name_variants("Kitakyushu-Fukuoka M.M.A.")[1]
    assert "vitoria" in name_variants("Grande Vitória")[1]


CITIES = pd.DataFrame(
    [("gn:1", "US", 40.71, -74.01, 8_800_000), ("gn:2", "US", 40.74, -74.17, 280_000),
     ("gn:3", "US", 34.05, -118.24, 3_900_000), ("gn:4", "US", 39.06, -94.58, 500_000),
     ("gn:5", "US", 39.30, -94.90, 150_000), ("gn:6", "PH", 15.03, 120.69, 300_000),
     ("gn:7", "PH", 14.34, 121.08, 250_000), ("gn:8", "BO", -17.38, -66.16, 840_000),
     ("gn:9", "US", 26.58, -98.82, 20_000), ("gn:11", "US", 39.80, -89.65, 114_000),
     ("gn:12", "US", 39.83, -89.60, 20_000)],
    columns=["city_id", "country_iso2", "latitude", "longitude", "population"],
)
CITIES["name"] = CITIES["city_id"].map({"gn:1": "New York City", "gn:2": "Newark",
                                        "gn:3": "Los Angeles", "gn:4": "Kansas City",
                                        "gn:5": "Kansas City", "gn:6": "San Fernando",
                                        "gn:7": "San Fernando", "gn:8": "Cochabamba",
                                        "gn:9": "Los Angeles", "gn:11": "Springfield",
                                        "gn:12": "Springfield"})
ALIASES = pd.DataFrame(
    [("New York City", "gn:1"), ("New York", "gn:1"), ("Newark", "gn:2"),
     ("Los Angeles", "gn:3"), ("Kansas City", "gn:4"), ("Kansas City", "gn:5"),
     ("San Fernando", "gn:6"), ("San Fernando", "gn:7"), ("Cochabamba", "gn:8"),
     ("Los Angeles", "gn:9"), ("Springfield", "gn:11"), ("Springfield", "gn:12")],
    columns=["alias", "city_id"],
)


def _match(rows):
    records = pd.DataFrame(rows, columns=["key", "name", "country", "latitude", "longitude"])
    return match_cities(records, CITIES, ALIASES).set_index("key")


def test_a_compound_agglomeration_resolves_to_its_most_populous_named_city():
    verdict = _match([("a", "New York-Newark", "US", 40.74, -74.17)]).loc["a"]
    assert verdict.city_id == "gn:1" and verdict.status == "matched"
    # whatever the order of the names
    verdict = _match([("b", "Newark-New York", "US", 40.74, -74.17)]).loc["b"]
    assert verdict.city_id == "gn:1"


def test_a_namesake_within_ten_km_of_a_larger_one_yields_to_it():
    """As Kansas City, Kansas beside Kansas City, Missouri: a point at the smaller one's
    centre, 5 km from the larger, still means the larger, principal city."""
    verdict = _match([("s", "Springfield", "US", 39.83, -89.60)]).loc["s"]
    assert verdict.city_id == "gn:11"


def test_namesakes_are_told_apart_by_distance():
    verdicts = _match([("ks", "Kansas City", "US", 39.29, -94.89),
                       ("mo", "Kansas City", "US", 39.08, -94.60),
                       ("ph", "San Fernando", "PH", 14.35, 121.07)])
    assert verdicts.loc["ks", "city_id"] == "gn:5"  # 1 km away, against 37 km
    assert verdicts.loc["mo", "city_id"] == "gn:4"
    assert verdicts.loc["ph", "city_id"] == "gn:7"


def test_namesakes_without_coordinates_are_ambiguous_unless_one_dominates():
    records = pd.DataFrame([("ph", "San Fernando", "PH"), ("ks", "Kansas City", "US"),
                            ("la", "Los Angeles", "US")], columns=["key", "name", "country"])
    verdicts = match_cities(records, CITIES, ALIASES).set_index("key")
    # 300k against 250k, and 500k against 150k: no namesake is five times the other
    for key in ("ph", "ks"):
        assert verdicts.loc[key, "status"] == "ambiguous"
        assert pd.isna(verdicts.loc[key, "city_id"])
    assert "2 cities in US are called 'Kansas City'" in verdicts.loc["ks", "reason"]
    # 3.9 M against 20,000 is
    assert verdicts.loc["la", "city_id"] == "gn:3"
    assert verdicts.loc["la", "method"] == "name + population"


def test_a_point_far_from_its_country_is_ignored_not_trusted():
    verdict = _match([("c", "Cochabamba", "BO", -17.39, 18.0)]).loc["c"]
    assert verdict.city_id == "gn:8" and verdict.method == "name"


def test_the_wrong_country_never_matches():
    verdict = _match([("x", "Los Angeles", "PH", 34.05, -118.24)]).loc["x"]
    assert verdict.status == "unmatched" and pd.isna(verdict.city_id)


def test_no_name_in_common_near_a_city_is_reported_not_loaded():
    verdict = _match([("n", "Hudson County", "US", 40.74, -74.16)]).loc["n"]
    assert verdict.city_id == "gn:2" and verdict.status == "low confidence"
    assert "no name in common" in verdict.reason
