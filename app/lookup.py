"""A user's reference to a city ('Valencia, ES', 'München', 'gn:2509954') to the one city it
names, for the CLI and the app alike: warehouse.lookup searches loosely, indicators.names
decides. An ambiguous or unknown reference raises CityNotFound with the candidates (for an
unknown name, the nearest spellings), never a guess."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from indicators.names import (
    CANDIDATE_COLUMNS,
    CityNotFound,
    CityQuery,
    choose,
    missing,
    parse_query,
)
from warehouse import lookup
from warehouse.connect import Connection, reading

if TYPE_CHECKING:
    import pandas as pd

SPELLINGS = 5


def find_city(con: Connection, text: str) -> tuple[str, list[dict]]:
    """The city `text` names, and the other cities its name is only an alternate or district
    name of (for a note), as rows of CANDIDATE_COLUMNS."""
    query = parse_query(text, lookup.countries(con))
    if query.city_id is not None:
        if not lookup.cities(con, [query.city_id]):
            raise CityNotFound(f"{query.city_id} is not in the city registry")
        return query.city_id, []
    try:
        return choose(query, lookup.name_candidates(con, query.token, query.country))
    except CityNotFound as error:
        if not error.candidates:
            error.candidates = nearest_spellings(con, query)
        raise


def nearest_spellings(con: Connection, query: CityQuery) -> list[dict]:
    """Cities whose name is spelt most like the query's (same first letter), as rows of
    CANDIDATE_COLUMNS: what the user may have meant, listed, not chosen."""
    from rapidfuzz import fuzz, process  # only when a name is not found

    names = [row for row in lookup.similar_names(con, query.key[:1])
             if query.country is None or row["country_iso2"] == query.country]
    folded = [(row["ascii_name"] or "").lower() for row in names]
    found = process.extract(query.key, folded, scorer=fuzz.ratio, limit=SPELLINGS,
                            score_cutoff=70)
    return [{column: names[position].get(column) for column in CANDIDATE_COLUMNS}
            | {"matched": names[position]["name"], "tier": "spelling"}
            for _, _, position in found]


def candidate_lines(candidates: list[dict]) -> list[str]:
    """One line per candidate (rows of CANDIDATE_COLUMNS): name, country, population, id, and
    how the name met it."""
    return [
        f"  {row['name']}, {row['country']} ({row['country_iso2']})"
        + ("" if missing(row["population"]) else f" · {int(row['population']):,} people")
        + f" · {row['city_id']}"
        + (f" · {row['tier']}: {row['matched']}"
           if row["tier"] in ("alternate name", "district") else "")
        for row in candidates
    ]


def city_matches(db: Path, text: str) -> tuple[str | None, pd.DataFrame, str]:
    """For the app: the city `text` names (None when none or several), the candidates it could
    be (a frame of CANDIDATE_COLUMNS), and why it names no one city ('' when it does)."""
    import pandas as pd  # the app's; `citybench compare` does without

    candidates, problem, city_id = [], "", None
    with reading(db) as con:
        try:
            city_id, _ = find_city(con, text)
        except CityNotFound as error:
            candidates, problem = error.candidates, str(error)
        except lookup.SearchIndexMissing as error:
            problem = str(error)
    return city_id, pd.DataFrame(candidates, columns=CANDIDATE_COLUMNS), problem
