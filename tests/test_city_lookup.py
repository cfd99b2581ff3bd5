"""Finding the city a user means (app.lookup, indicators.names, warehouse.lookup) on the
published offline default: names as people type them, alternate names, 'Name, CC', gn:ID;
ambiguous and unknown names listed, never guessed."""

from __future__ import annotations

import duckdb
import pytest

from app.lookup import candidate_lines, find_city
from indicators.names import APOSTROPHES, LETTERS, CityNotFound, name_key, parse_query
from warehouse import lookup
from warehouse.connect import open_read_only


@pytest.fixture(scope="module")
def con(published):
    connection = open_read_only(published)
    yield connection
    connection.close()


def _registry(con, city_id: str) -> tuple[str, str]:
    return con.execute("SELECT name, country_iso2 FROM city WHERE city_id = ?",
                       [city_id]).fetchone()


# (what a user types, the registry's name and country of the city meant)
NAMED = [
    ("Lyon", ("Lyon", "FR")),
    ("LYON", ("Lyon", "FR")),
    ("München", ("Munich", "DE")),          # an alternate name (the app's own placeholder)
    ("Muenchen", ("Munich", "DE")),
    ("Cologne", ("Köln", "DE")),
    ("Kiev", ("Kyiv", "UA")),
    ("Bombay", ("Mumbai", "IN")),
    ("Peking", ("Beijing", "CN")),
    ("Den Haag", ("The Hague", "NL")),
    ("NYC", ("New York City", "US")),
    ("København", ("Copenhagen", "DK")),     # ø, which accents folding alone does not fold
    ("Lodz", ("Łódź", "PL")),
    ("N'Djamena", ("N'Djamena", "TD")),
    ("Valencia, ES", ("Valencia", "ES")),
    ("Valencia, Spain", ("Valencia", "ES")),
    ("valencia ,  es", ("Valencia", "ES")),
    ("Córdoba, AR", ("Córdoba", "AR")),
    ("Washington, D.C.", ("Washington", "US")),  # ", D.C." names no country
]


@pytest.mark.parametrize(("text", "expected"), NAMED, ids=[t for t, _ in NAMED])
def test_a_name_people_type_finds_the_city(con, text, expected):
    city_id, _ = find_city(con, text)
    assert _registry(con, city_id) == expected


def test_an_id_is_taken_as_given_and_an_unknown_id_refused(published, con):
    assert find_city(con, "gn:2509954")[0] == "gn:2509954"
    with pytest.raises(CityNotFound, match="gn:1 is not in the city registry"):
        find_city(con, "gn:1")


@pytest.mark.parametrize(("text", "countries"), [
    ("Valencia", {"ES", "VE"}),
    ("San José", {"CR", "US"}),
    ("Frankfurt", {"DE"}),
    ("Córdoba", {"AR", "ES", "MX"}),
    ("Frankfurt, DE", {"DE"}),   # the country does not tell am Main and (Oder) apart
])
def test_an_ambiguous_name_lists_every_candidate(con, text, countries):
    with pytest.raises(CityNotFound, match="could be") as raised:
        find_city(con, text)
    found = raised.value.candidates
    assert countries <= {row["country_iso2"] for row in found} and len(found) >= 2
    # every candidate really has the name: its own, an alternate or a district's; once each
    key = parse_query(text, lookup.countries(con)).key
    assert len({row["city_id"] for row in found}) == len(found)
    for row in found:
        names = [n for (n,) in con.execute("""
            SELECT name FROM city WHERE city_id = ? UNION ALL
            SELECT alias FROM city_alias WHERE scheme = 'name' AND city_id = ?""",
                                            [row["city_id"], row["city_id"]]).fetchall()]
        assert key in {name_key(n) for n in names}, row
    # the listing a user sees: name, country, population, id
    lines = candidate_lines(found)
    assert len(lines) == len(found)
    first = found[0]
    assert f"({first['country_iso2']})" in lines[0] and first["city_id"] in lines[0]
    assert f"{int(first['population']):,} people" in lines[0]


def test_the_listing_of_valencia_names_spain_and_venezuela(con):
    with pytest.raises(CityNotFound) as raised:
        find_city(con, "Valencia")
    text = "\n".join(candidate_lines(raised.value.candidates))
    assert "Valencia, Spain (ES)" in text and "Valencia, Venezuela (VE)" in text


def test_an_unknown_name_lists_the_nearest_spellings_without_choosing(con):
    with pytest.raises(CityNotFound, match="no city named 'Lyonn'") as raised:
        find_city(con, "Lyonn")
    assert "gn:2996944" in {row["city_id"] for row in raised.value.candidates}  # Lyon
    with pytest.raises(CityNotFound, match="no city named") as raised:
        find_city(con, "Qqqxzv")
    assert raised.value.candidates == []
    with pytest.raises(CityNotFound, match="names no city"):
        find_city(con, " ,; ")


def test_own_name_outranks_an_alternate_name(con):
    """'Paris, US' is Paris, Texas (its own name), not a city known as Paris elsewhere; and
    the cities the name is only an alternate name of are returned for a note."""
    city_id, others = find_city(con, "Paris, US")
    assert _registry(con, city_id) == ("Paris", "US")
    assert city_id not in {row["city_id"] for row in others}


def test_the_sql_search_folds_letters_as_name_key_does():
    """warehouse.lookup repeats indicators.names' special letters in SQL (it may not import
    indicators): the two must agree, or a name with such a letter would not be found."""
    from warehouse.lookup import _EXPANDED, _SPECIAL, _fold_sql

    assert {k.lower(): v.lower() for k, v in _SPECIAL.items()} | _EXPANDED == LETTERS | {
        "ß": "ss"}
    con = duckdb.connect()
    words = ["Øresund", "Łódź", "Þórshöfn", "Ærøskøbing", "Straßburg", "N'Djamena",
             "Ħamrun", "S\u0131vas", "Œuvre", "Đakovo", "Ŋa", "Ma\u2019alot", "Hawai\u02bbi"]
    for word in words:
        folded = con.execute(f"SELECT {_fold_sql('$w')}", {"w": word}).fetchone()[0]
        assert folded == name_key(word), word
    assert set(APOSTROPHES) <= set(lookup._APOSTROPHES)


def test_the_search_is_a_superset_of_the_exact_names(con):
    """Every name the registry holds for a sample of cities is found by the search for its
    longest word (the loose step never loses a city that the exact step would accept)."""
    sample = con.execute("""
        SELECT city_id, alias FROM city_alias WHERE scheme = 'name'
        USING SAMPLE reservoir(60 ROWS) REPEATABLE (7)""").df()
    countries = lookup.countries(con)
    for row in sample.itertuples():
        if not name_key(row.alias).strip():
            continue
        token = parse_query(row.alias.replace(",", " "), countries).token
        found = lookup.name_candidates(con, token)
        assert row.city_id in {hit["city_id"] for hit in found}, (row.alias, token)
