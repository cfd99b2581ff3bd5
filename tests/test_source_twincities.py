"""Twin cities listed on English Wikipedia (the twincities project's real files, read in place):
every pair loaded as a link, dropped as a city with itself, merged as a repeat, or reported."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from flows.sources.base import Extracted, ParseError, Registry
from flows.sources.twincities import (
    GEOCODED,
    LISTED,
    TwinCities,
    country_iso2,
    country_lookup,
)
from tests.conftest import SHARED, citybench, cli_env, query
from tests.http_server import FileServer
from tests.test_source_wikidata import ANSWERS as WIKIDATA_ANSWERS

TWIN = SHARED / "opendata" / "twincities"
GEOCODED_CSV, LISTED_CSV = TWIN / "twincities_geocoded.csv", TWIN / "twincities_raw.csv"
pytestmark = pytest.mark.skipif(not TWIN.is_dir(), reason="../shared/opendata/twincities absent")

PUBLISHED_FILES = {
    TwinCities.urls[GEOCODED]: GEOCODED_CSV,
    TwinCities.urls[LISTED]: LISTED_CSV,
}


def extracted(geocoded: bytes | None = None, listed: bytes | None = None) -> Extracted:
    return Extracted(
        {
            GEOCODED: GEOCODED_CSV.read_bytes() if geocoded is None else geocoded,
            LISTED: LISTED_CSV.read_bytes() if listed is None else listed,
        },
        None,
        datetime(2026, 2, 9, tzinfo=UTC),
    )


def rows(path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def parsed():
    return TwinCities().parse(extracted())


@pytest.fixture(scope="module")
def registry(published):
    con = duckdb.connect(str(published), read_only=True)
    try:
        return Registry.read(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def conformed(parsed, registry):
    valid = {name: model.validate(parsed[name]) for name, model in TwinCities.raw_models.items()}
    return TwinCities().conform(valid, registry)


def test_every_listed_pair_is_read_with_its_points(parsed):
    pairs = parsed["pairs"]
    listed, geocoded = rows(LISTED_CSV), rows(GEOCODED_CSV)
    assert len(pairs) == len(listed) == 26_114
    assert pairs[["lat1", "lat2"]].notna().all(axis=1).sum() == len(geocoded) == 25_917
    assert (pairs["dataset_id"] == LISTED).sum() == 197  # listed, not geocoded
    berat = pairs[(pairs["city1"] == "Berat") & (pairs["city2"] == "Amasya")].iloc[0]
    assert (berat["country2"], berat["lat1"], berat["lng2"]) == ("Turkey", 40.7022, 35.8331)
    assert berat["line"] == 2 and berat["file"] == LISTED
    # a quoted name with a comma is one field
    assert "Córdoba, Bolívar" in set(pairs["city2"])
    assert parsed["datasets"]["url"].tolist() == [TwinCities.urls[GEOCODED],
                                                  TwinCities.urls[LISTED]]


def test_every_pair_is_a_link_a_self_pair_a_repeat_or_reported(parsed, conformed):
    note = conformed.notes[0]
    numbers = [int(n.replace(",", "")) for n in re.findall(r"(\d[\d,]*) ", note)]
    total, links, itself, repeats, reported = numbers
    assert total == len(parsed["pairs"]) == links + itself + repeats + reported
    assert links == len(conformed.city_link) > 10_000
    assert reported == len(conformed.unresolved)
    assert itself >= 1 and repeats >= 1
    assert (conformed.city_link["city_a"] < conformed.city_link["city_b"]).all()
    assert (conformed.city_link["kind"] == "twinning").all()
    assert not conformed.city_link.duplicated(["city_a", "city_b", "period"]).any()
    assert set(conformed.city_link["period"]) == {2026}  # the year the files were fetched


def _city(registry, name, country):
    cities = registry.cities
    found = cities[(cities["name"] == name) & (cities["country_iso2"] == country)]
    return found.sort_values("population").iloc[-1]["city_id"]


def test_known_pairs(conformed, registry):
    links = set(zip(conformed.city_link["city_a"], conformed.city_link["city_b"], strict=True))

    def linked(a, b) -> bool:
        return tuple(sorted((_city(registry, *a), _city(registry, *b)))) in links

    assert linked(("Paris", "FR"), ("Rome", "IT"))
    assert linked(("Kyiv", "UA"), ("Kraków", "PL"))
    # 'Scotland, United Kingdom', 'Georgia (country)': Wikipedia's country names resolve
    assert linked(("Edinburgh", "GB"), ("Munich", "DE"))
    assert linked(("Tbilisi", "GE"), ("Kyiv", "UA"))
    # Nienburg twinned with Nienburg: both names resolve to one city, so no link, no report
    assert "twin_cities_raw.csv line 12171" not in set(conformed.unresolved["key"])


def test_unresolved_pairs_name_the_side_and_the_reason(conformed):
    unresolved = conformed.unresolved.set_index("key")
    assert unresolved["reason"].str.len().gt(0).all()
    assert set(unresolved["status"]) <= {"unmatched", "low confidence", "ambiguous"}
    village = unresolved.loc["twin_cities_raw.csv line 1026"]  # a village of 2,000
    assert village["name"] == "Sankt Georgen am Walde - Lalín"
    assert village["reason"].startswith(
        "Sankt Georgen am Walde (Austria): unmatched, no city called 'Sankt Georgen am Walde' "
        "in AT")
    no_country = unresolved[unresolved["reason"].str.contains("country '' not known")]
    assert len(no_country) >= 1


def test_wikipedia_country_names(registry):
    lookup = country_lookup(registry.countries)
    assert country_iso2("England, United Kingdom", lookup) == "GB"
    assert country_iso2("Georgia (country)", lookup) == "GE"
    assert country_iso2("Réunion, France", lookup) == "RE"  # the first part that is a country
    assert country_iso2("Brandenburg, Germany", lookup) == "DE"
    assert country_iso2("São Tomé and Príncipe", lookup) == "ST"
    assert country_iso2("Grece", lookup) is None  # a typo stays unresolved, not guessed


@pytest.mark.parametrize(
    ("variant", "where"),
    [
        (lambda d: d[: d.index(b"\n", len(d) // 2) + 25], r"line [\d,]+: expected a line end"),
        (lambda d: d.replace(b"Amasya", b"Am\xffsya", 1), r"byte [\d,]+: expected UTF-8"),
        (lambda d: d.replace(b"lat1,lng1", b"latitude1,lng1", 1), r"line 1: expected the header"),
        (lambda d: d.replace(b"Amasya,Turkey,40.65,", b"Amasya,Turkey,", 1),
         r"line 2: expected 8 fields"),
        (lambda d: d.replace(b",40.65,35.8331", b",40.65,35.83E1x", 1),
         r"line 2, column lng2: expected a number"),
        (lambda d: d.replace(b"Berat,Albania,40.7022,19.9583,Amasya", b'Berat,"Albania,40', 1)
         , r"line [\d,]+: expected CSV"),
    ],
)
def test_broken_files_raise_parse_error(variant, where):
    with pytest.raises(ParseError, match=r"^twin_cities\.csv, " + where):
        TwinCities().parse(extracted(geocoded=variant(GEOCODED_CSV.read_bytes())))


def test_refresh_over_http_keeps_both_sources_of_twinning(published, prefect_home, tmp_path):
    """Wikidata's twinning and Wikipedia's lists are separate sources: both are held."""
    served = tmp_path / "served"
    served.mkdir()
    for name, path in {GEOCODED: GEOCODED_CSV, LISTED: LISTED_CSV}.items():
        (served / name).symlink_to(path)
    for name, path in WIKIDATA_ANSWERS.items():
        (served / f"{name}.json").symlink_to(path)
    db = tmp_path / "w.duckdb"
    shutil.copyfile(published, db)
    config = tmp_path / "citybench.toml"
    with FileServer(served) as server:
        config.write_text(
            "[sources.twincities.urls]\n"
            + "".join(f'"{name}" = "{server.url}/files/{name}"\n' for name in (GEOCODED, LISTED))
            + "[sources.wikidata.urls]\n"
            + "".join(f'{name} = "{server.url}/files/{name}.json"\n' for name in WIKIDATA_ANSWERS)
        )
        result = citybench("refresh", "--source", "wikidata", "--source", "twincities",
                           "--db", str(db), env=cli_env(prefect_home, CITYBENCH_CONFIG=str(config)))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    held = dict(query(db, "SELECT source_id, count(*) FROM city_link GROUP BY 1"))
    assert held["wikidata"] == 5 and held["twincities"] > 10_000
    reported = query(db, "SELECT count(*) FROM rejected WHERE source_id = 'twincities' "
                         "AND check_name LIKE 'resolve:%'")[0][0]
    assert f"twincities: {held['twincities']:,} rows held" in result.stdout
    assert reported > 10_000
    both = query(db, """
        SELECT count(*) FROM city_link w JOIN city_link t USING (kind, city_a, city_b)
        WHERE w.source_id = 'wikidata' AND t.source_id = 'twincities'""")[0][0]
    assert both >= 1  # Paris and Rome are twinned in both
