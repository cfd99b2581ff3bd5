"""World Bank Indicators API v2 from pages made here in the API's documented shape (invented
values; see tests/data/worldbank/README.md): paging, country values given to cities, pages that
disagree."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from flows.sources.worldbank import (
    GDP_PER_CAPITA,
    POPULATION,
    YEARS_KEPT,
    WorldBank,
    page_file,
    page_url,
)
from flows.transport import MirrorTransport
from tests.conftest import query
from tests.source_fixtures import (
    DATA,
    PUBLISHED_FILES,
    WORLDBANK_PAGES,
    make_mirror,
    sample_fixture,
)
from warehouse.parse_error import ParseError

PAGES = DATA / "worldbank"


def _records(slug):
    return [r for path in sorted(PAGES.glob(f"{slug}-page-*.json"))
            for r in json.loads(path.read_text())[1]]


def _mirror(tmp_path, leave_out=()):
    files = {url: path for url, path in PUBLISHED_FILES["worldbank"].items()
             if url not in leave_out}
    return make_mirror(tmp_path / "mirror", files)


run = sample_fixture("worldbank")


def test_every_page_is_followed_and_every_record_read(run):
    extracted, parsed = run.extracted, run.parsed
    assert len(extracted.files) == len(PUBLISHED_FILES["worldbank"]) == 5
    values = parsed["values"]
    gdp, population = _records("gdp-per-capita"), _records("population")
    assert len(values) == len(gdp) + len(population) == 2 * 1056
    assert values["value"].notna().sum() == sum(r["value"] is not None for r in gdp + population)
    assert len(parsed["countries"]) == len(_records("country")) == 16
    assert extracted.dataset_version == "last updated 2025-07-01"
    assert parsed["datasets"].set_index("dataset_id").loc[GDP_PER_CAPITA, "last_update"] == (
        "2025-07-01"
    )


def test_each_city_gets_its_countrys_values(run):
    conformed, registry, extracted = run.conformed, run.registry, run.extracted
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


def test_counts_agree_with_the_pages(run):
    conformed, registry = run.conformed, run.registry
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
    return replace(extracted, files={**extracted.files, page_file(name, page): content})


def _page(name, page):
    slug = WORLDBANK_PAGES[name][0]
    return json.loads((PAGES / f"{slug}-page-{page}.json").read_text())


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
def test_a_page_that_disagrees_fails_naming_it(run, change, found):
    content = json.dumps(change(_page(GDP_PER_CAPITA, 2))).encode()
    with pytest.raises(ParseError) as caught:
        WorldBank().parse(_with(run.extracted, GDP_PER_CAPITA, 2, content))
    message = str(caught.value)
    assert message.startswith(page_url(WorldBank.urls[GDP_PER_CAPITA], 2) + ", ")
    assert found in message


def test_a_missing_page_fails_the_source_naming_it(tmp_path):
    missing = page_url(WorldBank.urls[POPULATION], 2)
    with pytest.raises(ParseError, match=rf"^{re.escape(missing)}, page 2 of 2: expected the page"):
        WorldBank().extract(MirrorTransport(_mirror(tmp_path, leave_out={missing})))


def test_the_load_gives_every_city_its_countrys_values(run):
    by_indicator = dict(query(
        run.db,
        "SELECT indicator_id, count(*) FROM observation WHERE source_id = 'worldbank' GROUP BY 1"))
    rejected = query(run.db, "SELECT value FROM rejected WHERE source_id = 'worldbank'")
    assert by_indicator["country_gdp_per_capita"] == by_indicator["country_population"] > 0
    assert rejected == [("CHI Channel Islands",)]
    assert run.report.rows_loaded == sum(by_indicator.values()) == len(run.conformed.observation)
