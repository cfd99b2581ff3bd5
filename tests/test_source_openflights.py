"""OpenFlights airports and routes from the real files, read in place: airports grouped into
cities, every route a link weight, a self-link or a loss through a reported airport."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import UTC, datetime

import duckdb
import pandas as pd
import pytest

from flows.sources.base import Extracted, ParseError, Registry
from flows.sources.openflights import (
    AIRPORTS,
    COUNTRIES,
    ROUTES,
    ROUTES_YEAR,
    OpenFlights,
    resolve_airports,
    route_fates,
)
from flows.transport import MirrorTransport, mirror_path
from tests.conftest import SHARED, citybench, cli_env, query
from tests.http_server import FileServer
from warehouse.validation import split_valid

OPENFLIGHTS = SHARED / "opendata" / "openflights"
PUBLISHED_FILES = {url: OPENFLIGHTS / name for name, url in OpenFlights.urls.items()}
pytestmark = pytest.mark.skipif(not OPENFLIGHTS.is_dir(),
                                reason="../shared/opendata/openflights absent")


def _bytes(name: str) -> bytes:
    return (OPENFLIGHTS / name).read_bytes()


def _rows(name: str) -> list[list[str]]:
    """The file as Python's csv module reads it, independently of our parser."""
    return list(csv.reader(io.StringIO(_bytes(name).decode())))


def _parse(**files: bytes) -> dict[str, pd.DataFrame]:
    contents = {name: _bytes(name) for name in OpenFlights.urls}
    contents.update({name.replace("_", "."): content for name, content in files.items()})
    return OpenFlights().parse(Extracted(contents, "test", datetime.now(UTC)))


@pytest.fixture(scope="module")
def parsed():
    return _parse()


@pytest.fixture(scope="module")
def valid(parsed):
    return {name: split_valid(frame, OpenFlights.raw_models[name])
            for name, frame in parsed.items()}


@pytest.fixture(scope="module")
def registry(published):
    con = duckdb.connect(str(published), read_only=True)
    try:
        return Registry.read(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def conformed(valid, registry):
    return OpenFlights().conform({name: o.valid for name, o in valid.items()}, registry)


@pytest.fixture(scope="module")
def fates(valid, registry):
    airports = resolve_airports(valid["airports"].valid, valid["countries"].valid, registry)
    return route_fates(valid["routes"].valid, airports), airports


def test_every_row_is_read_with_nulls_and_quotes(parsed, valid):
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


def test_every_route_is_a_link_weight_a_self_link_or_lost_through_a_reported_airport(
    valid, conformed, fates
):
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


def test_london_paris_weight_counts_every_airline_route_both_ways(conformed, registry):
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


def test_airport_codes_become_city_aliases(conformed, registry):
    alias = conformed.city_alias.set_index("alias")["city_id"]
    assert alias["LHR"] == alias["LGW"] == _city(registry, "London", "GB")
    assert alias["CDG"] == alias["ORY"] == _city(registry, "Paris", "FR")
    assert alias["JFK"] == alias["LGA"] == _city(registry, "New York City", "US")
    # OpenFlights' city of Newark airport is Newark, not New York
    assert registry.cities.set_index("city_id").loc[alias["EWR"], "name"] == "Newark"
    assert set(conformed.city_alias["scheme"]) == {"iata"}


# --- damaged files ------------------------------------------------------------------------


def test_a_truncated_file_is_refused_at_its_last_line():
    content = _bytes(ROUTES)
    cut = content[: content.index(b",", len(content) // 2) + 1]
    line = cut.count(b"\n") + 1
    with pytest.raises(ParseError, match=rf"^{ROUTES}, line {line}: expected 9 fields"):
        _parse(routes_dat=cut)


def test_a_garbled_line_is_refused_naming_it():
    lines = _bytes(AIRPORTS).split(b"\n")
    assert lines[99].startswith(b'100,"')
    unclosed = lines[99].replace(b'",', b",", 1)  # the name's closing quote lost
    with pytest.raises(ParseError, match=rf"^{AIRPORTS}, line 100: expected well-formed CSV"):
        _parse(airports_dat=b"\n".join([*lines[:99], unclosed, *lines[100:]]))
    short = b",".join(lines[99].split(b",")[:10])
    with pytest.raises(ParseError, match=rf"^{AIRPORTS}, line 100: expected 14 fields"):
        _parse(airports_dat=b"\n".join([*lines[:99], short, *lines[100:]]))


def test_a_few_malformed_rows_are_rejected_rows(registry):
    airports = _bytes(AIRPORTS).split(b"\n")
    fields = airports[9].split(b",")
    fields[6] = b"north"  # a latitude that is not a number
    airports[9] = b",".join(fields)
    routes = _bytes(ROUTES).split(b"\n")
    routes[19] = routes[19].replace(routes[19].split(b",")[2], b"xx", 1)  # no airport code
    parsed = _parse(airports_dat=b"\n".join(airports), routes_dat=b"\n".join(routes))
    outcomes = {name: split_valid(frame, OpenFlights.raw_models[name])
                for name, frame in parsed.items()}
    assert outcomes["airports"].rejected_rows == 5 + 1
    assert 10 in set(outcomes["airports"].rejected["row_number"])
    assert outcomes["routes"].rejected["row_number"].tolist() == [20]
    conformed = OpenFlights().conform({n: o.valid for n, o in outcomes.items()}, registry)
    assert len(conformed.city_link) > 14000


# --- through the transports ---------------------------------------------------------------


def test_the_mirror_serves_the_publishers_urls(tmp_path):
    for url, path in PUBLISHED_FILES.items():
        target = mirror_path(tmp_path, url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
    extracted = OpenFlights().extract(MirrorTransport(tmp_path))
    assert extracted.files == {name: _bytes(name) for name in OpenFlights.urls}


def test_refresh_over_http_loads_links_and_codes(published, prefect_home, tmp_path, conformed):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(published, db)
    with FileServer(OPENFLIGHTS) as server:
        config = tmp_path / "citybench.toml"
        config.write_text("[sources.openflights.urls]\n" + "".join(
            f'"{name}" = "{server.url}/files/{name}"\n' for name in OpenFlights.urls))
        run = citybench("refresh", "--source", "openflights", "--db", str(db),
                        env=cli_env(prefect_home, CITYBENCH_CONFIG=str(config)))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    links = conformed.city_link
    assert query(db, "SELECT count(*), sum(weight) FROM city_link "
                     "WHERE source_id = 'openflights'") == [(len(links), links["weight"].sum())]
    assert query(db, "SELECT count(*) FROM city_alias WHERE scheme = 'iata'") == [
        (len(conformed.city_alias),)]
    reported = query(db, "SELECT count(*) FROM rejected WHERE source_id = 'openflights' "
                         "AND check_name LIKE 'resolve:%'")[0][0]
    assert reported == len(conformed.unresolved)
    assert f"openflights: {len(links):,} rows held" in run.stdout
