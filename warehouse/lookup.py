"""Finding cities by what a user types: the loose search behind `citybench compare CITY` and
the app's city search. The decision (which of these the user meant, if any) is
indicators.names'; this module only reads.

The search is loose on purpose: it finds every city whose own, ASCII or alternate name (or a
district's name folded into it) contains the query's longest word once case, accents and
apostrophes are folded as indicators.names.name_key folds them. The names are folded once, at
refresh, into city_name_search (index_names). The exact comparison of whole names is then made
on the few rows found, in Python, by name_key itself.
"""

from __future__ import annotations

import duckdb

from warehouse.columns import rows
from warehouse.connect import Connection, WarehouseMissing

# indicators.names.LETTERS, the letters NFKD does not decompose, and its apostrophes; warehouse
# may not import indicators, so they are repeated here and tests/test_city_lookup.py checks
# that the two agree.
_SPECIAL = {"Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ð": "d", "\u0131": "i",
            "Ħ": "H", "ħ": "h", "Ŧ": "T", "ŧ": "t", "Ŋ": "N", "ŋ": "n"}
_EXPANDED = {"æ": "ae", "œ": "oe", "þ": "th", "ß": "ss"}
_APOSTROPHES = "'\u2019`\u02bb\u02bc"


def _fold_sql(column: str) -> str:
    """SQL folding `column` as name_key folds letters (no punctuation or abbreviation rules:
    the search looks for one word)."""
    source = "".join(_SPECIAL) + _APOSTROPHES.replace("'", "''")
    target = "".join(_SPECIAL.values())  # the apostrophes, beyond it, are dropped
    folded = f"translate({column}, '{source}', '{target}')"
    folded = f"strip_accents(lower({folded}))"
    for letter, spelled in _EXPANDED.items():
        folded = f"replace({folded}, '{letter}', '{spelled}')"
    return folded


class SearchIndexMissing(WarehouseMissing):
    """The warehouse was published before the city search had its index (migration 009)."""


def index_names(con: Connection) -> int:
    """Rebuild the search's folded names from city and city_alias (a refresh's last step
    before publishing); return how many names it holds. A city's own name and its ASCII name
    share one row: the search's token is one word, so it cannot match across the space."""
    con.execute("DELETE FROM city_name_search")
    con.execute(f"""
        INSERT INTO city_name_search
        SELECT city_id, alias, method, {_fold_sql('alias')} FROM city_alias
        WHERE scheme = 'name'
        UNION ALL
        SELECT city_id, NULL, 'name', {_fold_sql('name')} || ' ' || lower(ascii_name)
        FROM city
    """)
    return con.execute("SELECT count(*) FROM city_name_search").fetchone()[0]


def name_candidates(con: Connection, token: str, country: str | None = None) -> list[dict]:
    """Rows for every city a name containing `token` (a folded word) may refer to: city_id,
    name, ascii_name, alias (the alternate or district name, missing for the city's own
    name), method (the alias's, 'name' for the own name), country_iso2, country (its name),
    population. One row per name found; the caller compares whole names."""
    try:
        return rows(con, """
            SELECT c.city_id, c.name, c.ascii_name, h.alias, h.method, c.country_iso2,
                   k.name AS country, c.population
            FROM city_name_search h JOIN city c USING (city_id)
                 JOIN country k ON k.iso2 = c.country_iso2
            WHERE contains(h.folded, $token) AND ($country IS NULL OR c.country_iso2 = $country)
            ORDER BY c.population DESC NULLS LAST, c.city_id
        """, {"token": token, "country": country})
    except duckdb.CatalogException:
        raise SearchIndexMissing(
            "this warehouse predates the city search's index: run `citybench refresh`") from None


def cities(con: Connection, city_ids: list[str]) -> list[dict]:
    """These cities as the candidates are listed, a row each: city_id, name, country_iso2, country,
    population (no row for an unknown id)."""
    return rows(con, """
        SELECT c.city_id, c.name, c.country_iso2, k.name AS country, c.population
        FROM city c JOIN country k ON k.iso2 = c.country_iso2
        WHERE list_contains($ids, c.city_id)
        ORDER BY c.city_id
    """, {"ids": list(city_ids)})


def countries(con: Connection) -> dict[str, str]:
    """ISO2 -> the country's name, for every country of the registry."""
    return dict(con.execute("SELECT iso2, name FROM country ORDER BY iso2").fetchall())


def similar_names(con: Connection, first_letters: str, limit: int = 2000) -> list[dict]:
    """Rows of the cities whose folded ASCII name starts like `first_letters`: where to look for a
    misspelt name's nearest spellings (city_id, name, ascii_name, country_iso2, country,
    population)."""
    return rows(con, """
        SELECT c.city_id, c.name, c.ascii_name, c.country_iso2, k.name AS country,
               c.population
        FROM city c JOIN country k ON k.iso2 = c.country_iso2
        WHERE starts_with(lower(c.ascii_name), $prefix)
        ORDER BY c.population DESC NULLS LAST LIMIT $limit
    """, {"prefix": first_letters, "limit": limit})
