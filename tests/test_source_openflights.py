"""OpenFlights airports and routes from the real files, read in place: airports grouped into
cities, every route a link weight, a self-link or a loss through a reported airport."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pandas as pd
import pytest

from flows.sources.openflights import (
    AIRPORTS,
    COUNTRIES,
    ROUTES,
    ROUTES_YEAR,
    OpenFlights,
    resolve_airports,
    route_fates,
)
from tests.conftest import query
from tests.source_fixtures import OPENFLIGHTS, needs_sample, sample_fixture
from warehouse.parse_error import ParseError
from warehouse.validation import split_valid

pytestmark = needs_sample("openflights")


def _bytes(name: str) -> bytes:
    return (OPENFLIGHTS / name).read_bytes()


def _rows(name: str) -> list[list[str]]:
    """The file as Python's csv module reads it, independently of our parser."""
    return list(csv.reader(io.StringIO(_bytes(name).decode())))


run = sample_fixture("openflights")


def _parse(run, **files: bytes) -> dict[str, pd.DataFrame]:
    changed = {name.replace("_", "."): content for name, content in files.items()}
    return OpenFlights().parse(replace(run.extracted, files={**run.extracted.files, **changed}))


@pytest.fixture(scope="module")
def fates(run):
    airports = resolve_airports(run.valid("airports"), run.valid("countries"), run.registry)
    return route_fates(run.valid("routes"), airports), airports


def test_every_row_is_read_with_nulls_and_quotes(run):
    parsed, valid = run.parsed, run.raw
    airports, routes = parsed["airports"], parsed["routes"]
    assert len(airports) == len(_rows(AIRPORTS)) == 7698
    assert len(routes) == len(_rows(ROUTES)) == 67663
    assert len(parsed["countries"]) == len(_rows(COUNTRIES)) == 261
    assert airports["iata"].isna().sum() == sum(r[4] == "\\N" for r in _rows(AIRPORTS)) == 1626
    assert routes["source_id"].isna().sum() == sum(r[3] == "\\N" for r in _rows(ROUTES))
    by_id = airports.set_index("airport_id")
    assert by_id.loc["332", "name"] == 'Magdeburg "City" Airport'
    assert by_id.loc["676", "name"] == 'Szczecin-Goleniów "Solidarność" Airport'
    assert (routes["codeshare"] == "Y").sum() == 14597
    assert valid["routes"].rejected_rows == 0
    # five airports carry a three-character code in the four-letter ICAO field
    assert valid["airports"].rejected_rows == 5
    assert set(valid["airports"].rejected["column_name"]) == {"icao"}


def test_every_route_is_a_link_weight_a_self_link_or_lost_through_a_reported_airport(run, fates):
    conformed = run.conformed
    routes, airports = fates
    counts = routes["fate"].value_counts()
    links = conformed.city_link
    assert links["weight"].sum() == counts["link"]
    assert counts["link"] + counts.get("self-link", 0) + counts["lost"] == 67663
    assert counts["link"] > 0.85 * 67663
    lost = routes[routes["fate"] == "lost"]
    reported = set(conformed.unresolved["key"])
    keys = pd.concat([lost["source"], lost["destination"]]).dropna()
    unresolved_ends = keys[keys.map(airports["status"]) != "matched"]
    unknown = pd.concat([lost.loc[lost["source"].isna(), "source_code"],
                         lost.loc[lost["destination"].isna(), "destination_code"]])
    assert reported == ({f"airport {i}" for i in unresolved_ends}
                        | {f"code {c}" for c in unknown})
    assert conformed.unresolved["reason"].str.len().gt(0).all()
    assert (links["city_a"] < links["city_b"]).all()
    assert set(links["period"]) == {ROUTES_YEAR} and set(links["kind"]) == {"air-route"}


def _city(registry, name, country):
    cities = registry.cities
    return cities[(cities["name"] == name) & (cities["country_iso2"] == country)]["city_id"].item()


def test_london_paris_weight_counts_every_airline_route_both_ways(run):
    conformed, registry = run.conformed, run.registry
    """Counted here from the files alone: routes between airports whose city field is London,
    United Kingdom and Paris, France."""
    airports = _rows(AIRPORTS)
    london = {r[0] for r in airports if (r[2], r[3]) == ("London", "United Kingdom")}
    paris = {r[0] for r in airports if (r[2], r[3]) == ("Paris", "France")}
    between = sum({r[3], r[5]} <= london | paris and bool({r[3], r[5]} & london)
                  and bool({r[3], r[5]} & paris) for r in _rows(ROUTES))
    ldn, par = _city(registry, "London", "GB"), _city(registry, "Paris", "FR")
    links = conformed.city_link.set_index(["city_a", "city_b"])["weight"]
    assert links[min(ldn, par), max(ldn, par)] == between > 10


def test_airport_codes_become_city_aliases(run):
    conformed, registry = run.conformed, run.registry
    alias = conformed.city_alias.set_index("alias")["city_id"]
    assert alias["LHR"] == alias["LGW"] == _city(registry, "London", "GB")
    assert alias["CDG"] == alias["ORY"] == _city(registry, "Paris", "FR")
    assert alias["JFK"] == alias["LGA"] == _city(registry, "New York City", "US")
    # OpenFlights' city of Newark airport is Newark, not New York
    assert registry.cities.set_index("city_id").loc[alias["EWR"], "name"] == "Newark"
    assert set(conformed.city_alias["scheme"]) == {"iata"}


# --- damaged files ------------------------------------------------------------------------


def test_a_garbled_line_is_refused_naming_it(run):
    lines = _bytes(AIRPORTS).split(b"\n")
    assert lines[99].startswith(b'100,"')
    unclosed = lines[99].replace(b'",', b",", 1)  # the name's closing quote lost
    with pytest.raises(ParseError, match=rf"^{AIRPORTS}, line 100: expected well-formed CSV"):
        _parse(run, airports_dat=b"\n".join([*lines[:99], unclosed, *lines[100:]]))
    short = b",".join(lines[99].split(b",")[:10])
    with pytest.raises(ParseError, match=rf"^{AIRPORTS}, line 100: expected 14 fields"):
        _parse(run, airports_dat=b"\n".join([*lines[:99], short, *lines[100:]]))


def test_a_few_malformed_rows_are_rejected_rows(run):
    airports = _bytes(AIRPORTS).split(b"\n")
    fields = airports[9].split(b",")
    fields[6] = b"north"  # a latitude that is not a number
    airports[9] = b",".join(fields)
    routes = _bytes(ROUTES).split(b"\n")
    routes[19] = routes[19].replace(routes[19].split(b",")[2], b"xx", 1)  # no airport code
    parsed = _parse(run, airports_dat=b"\n".join(airports), routes_dat=b"\n".join(routes))
    outcomes = {name: split_valid(parsed[name], model)
                for name, model in OpenFlights.raw_contracts().items()}
    assert outcomes["airports"].rejected_rows == 5 + 1
    assert 10 in set(outcomes["airports"].rejected["row_number"])
    assert outcomes["routes"].rejected["row_number"].tolist() == [20]
    # the rows rejected are left out; the others load (the real files' five airports too)
    assert run.raw["airports"].rejected_rows == 5 and run.report.rows_loaded > 14000


# --- loaded over HTTP ---------------------------------------------------------------------------


def test_the_load_over_http_holds_links_and_codes(run):
    links = run.conformed.city_link
    assert query(run.db, "SELECT count(*), sum(weight) FROM city_link "
                         "WHERE source_id = 'openflights'") == [(len(links), links["weight"].sum())]
    assert query(run.db, "SELECT count(*) FROM city_alias WHERE scheme = 'iata'") == [
        (len(run.conformed.city_alias),)]
    reported = query(run.db, "SELECT count(*) FROM rejected WHERE source_id = "
                             "'openflights' AND check_name LIKE 'resolve:%'")[0][0]
    assert reported == len(run.conformed.unresolved)
    assert run.report.rows_loaded == len(links)
