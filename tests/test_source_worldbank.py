"""World Bank Indicators API v2 from pages made here in the API's documented shape (invented
values; see tests/data/worldbank/README.md): paging, country values given to cities, pages that
disagree."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from flows.sources.base import Extracted, ParseError, Registry
from flows.sources.worldbank import (
    COUNTRIES,
    GDP_PER_CAPITA,
    POPULATION,
    YEARS_KEPT,
    WorldBank,
    page_file,
    page_url,
)
from flows.transport import MirrorTransport, mirror_path
from tests.conftest import ROOT, citybench, cli_env

DATA = ROOT / "tests" / "data" / "worldbank"
PAGES = {  # request -> (file name, pages)
    GDP_PER_CAPITA: ("gdp-per-capita", 2),
    POPULATION: ("population", 2),
    COUNTRIES: ("country", 1),
}
PUBLISHED_FILES = {
    page_url(WorldBank.urls[name], page): DATA / f"{slug}-page-{page}.json"
    for name, (slug, pages) in PAGES.items()
    for page in range(1, pages + 1)
}


def _records(slug):
    return [r for path in sorted(DATA.glob(f"{slug}-page-*.json"))
            for r in json.loads(path.read_text())[1]]


def _mirror(tmp_path, leave_out=()):
    root = tmp_path / "mirror"
    for url, path in PUBLISHED_FILES.items():
        if url not in leave_out:
            target = mirror_path(root, url)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    return root


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    return WorldBank().extract(MirrorTransport(_mirror(tmp_path_factory.mktemp("wb"))))


@pytest.fixture(scope="module")
def parsed(extracted):
    return WorldBank().parse(extracted)


@pytest.fixture(scope="module")
def conformed(parsed, published):
    con = duckdb.connect(str(published), read_only=True)
    registry = Registry.read(con)
    con.close()
    frames = {name: WorldBank.raw_models[name].validate(f) for name, f in parsed.items()}
    return WorldBank().conform(frames, registry), registry


def test_every_page_is_followed_and_every_record_read(extracted, parsed):
    assert len(extracted.files) == len(PUBLISHED_FILES) == 5
    values = parsed["values"]
    gdp, population = _records("gdp-per-capita"), _records("population")
    assert len(values) == len(gdp) + len(population) == 2 * 1056
    assert values["value"].notna().sum() == sum(r["value"] is not None for r in gdp + population)
    assert len(parsed["countries"]) == len(_records("country")) == 16
    assert extracted.dataset_version == "last updated 2025-07-01"
    assert parsed["datasets"].set_index("dataset_id").loc[GDP_PER_CAPITA, "last_update"] == (
        "2025-07-01"
    )


def test_each_city_gets_its_countrys_values(conformed, extracted):
    conformed, registry = conformed
    observation = conformed.observation
    berlin = registry.cities.query("name == 'Berlin' and country_iso2 == 'DE'")["city_id"].iloc[0]
    mine = observation[observation["city_id"] == berlin].set_index(["indicator_id", "period"])
    germany = {int(r["date"]): r["value"] for r in _records("gdp-per-capita")
               if r["countryiso3code"] == "DEU" and r["value"] is not None}
    latest = max(germany)
    assert mine.loc[("country_gdp_per_capita", latest), "value"] == germany[latest]
    kept = sorted(p for i, p in mine.index if i == "country_gdp_per_capita")
    assert kept == list(range(latest - YEARS_KEPT + 1, latest + 1))
    assert mine.loc[("country_income_group", extracted.retrieved_at.year), "value"] == 4
    lagos = registry.cities.query("name == 'Lagos' and country_iso2 == 'NG'")["city_id"].iloc[0]
    income = observation[(observation["city_id"] == lagos)
                         & (observation["indicator_id"] == "country_income_group")]
    assert income["value"].tolist() == [2]  # lower-middle income
    # Venezuela is not classified (INX): its cities get GDP and population, no income group
    caracas = registry.cities.query("name == 'Caracas'")["city_id"].iloc[0]
    assert set(observation.loc[observation["city_id"] == caracas, "indicator_id"]) == {
        "country_gdp_per_capita", "country_population"}


def test_counts_agree_with_the_pages(conformed):
    conformed, registry = conformed
    countries = {"DE", "FR", "US", "JP", "BR", "NG", "IN", "ET", "VE", "XK"}
    cities = registry.cities["country_iso2"].value_counts()
    # per country: 10 years of GDP and of population, and the income group unless VE
    expected = sum(cities.get(c, 0) * (2 * YEARS_KEPT + (c != "VE")) for c in countries)
    assert len(conformed.observation) == expected
    assert set(conformed.observation["city_id"]) <= set(registry.cities["city_id"])
    # aggregates are not countries; the Channel Islands have no ISO code: reported
    assert conformed.unresolved["key"].tolist() == ["CHI"]
    assert "no country with ISO 3166 alpha-3 code CHI" in conformed.unresolved["reason"].iloc[0]


def _with(extracted, name, page, content):
    return Extracted({**extracted.files, page_file(name, page): content},
                     "test", datetime.now(UTC))


def _page(name, page):
    slug = PAGES[name][0]
    return json.loads((DATA / f"{slug}-page-{page}.json").read_text())


@pytest.mark.parametrize(
    "change, found",
    [
        (lambda doc: [{**doc[0], "page": 1}, doc[1]], "page 1 of 2"),
        (lambda doc: [{**doc[0], "pages": 3}, doc[1]], "page 2 of 3"),
        (lambda doc: [doc[0], doc[1][:-1]], "55 records"),
        (lambda doc: [{"message": [{"id": "120", "value": "Invalid value"}]}], "Invalid value"),
        (lambda doc: [doc[0], [*doc[1][:3], {"date": "2020"}, *doc[1][4:]]], "$[1][3]"),
    ],
)
def test_a_page_that_disagrees_fails_naming_it(extracted, change, found):
    content = json.dumps(change(_page(GDP_PER_CAPITA, 2))).encode()
    with pytest.raises(ParseError) as caught:
        WorldBank().parse(_with(extracted, GDP_PER_CAPITA, 2, content))
    message = str(caught.value)
    assert message.startswith(page_url(WorldBank.urls[GDP_PER_CAPITA], 2) + ", ")
    assert found in message


def test_truncated_or_garbled_pages_fail_with_their_position(extracted):
    content = (DATA / "population-page-2.json").read_bytes()
    url = page_url(WorldBank.urls[POPULATION], 2)
    half = len(content) // 2
    at = r"line 1 column \d+ \(byte \d+\)"
    with pytest.raises(ParseError, match=rf"^{re.escape(url)}, {at}: expected JSON"):
        WorldBank().parse(_with(extracted, POPULATION, 2, content[:half]))
    garbled = content[:half] + b"\xff\xfe" + content[half + 2:]
    with pytest.raises(ParseError, match=rf"^{re.escape(url)}, byte {half}: expected UTF-8 JSON"):
        WorldBank().parse(_with(extracted, POPULATION, 2, garbled))


def test_a_missing_page_fails_the_source_naming_it(tmp_path):
    missing = page_url(WorldBank.urls[POPULATION], 2)
    with pytest.raises(ParseError, match=rf"^{re.escape(missing)}, page 2 of 2: expected the page"):
        WorldBank().extract(MirrorTransport(_mirror(tmp_path, leave_out={missing})))


def test_refresh_from_a_mirror_loads_the_source(published, prefect_home, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(published, db)
    result = citybench("refresh", "--source", "worldbank", "--mirror", str(_mirror(tmp_path)),
                       "--db", str(db), env=cli_env(prefect_home))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    by_indicator = dict(con.execute(
        "SELECT indicator_id, count(*) FROM observation WHERE source_id = 'worldbank' GROUP BY 1"
    ).fetchall())
    rejected = con.execute(
        "SELECT value FROM rejected WHERE source_id = 'worldbank'").fetchall()
    con.close()
    assert by_indicator["country_gdp_per_capita"] == by_indicator["country_population"] > 0
    assert rejected == [("CHI Channel Islands",)]
    assert f"worldbank: {sum(by_indicator.values()):,} rows held" in result.stdout
