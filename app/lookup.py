"""A user's reference to a city ('Valencia, ES', 'München', 'gn:2509954') to the one city it
names, for the CLI and the app alike: warehouse.lookup searches loosely, indicators.names
decides. An ambiguous or unknown reference raises CityNotFound with the candidates (for an
unknown name, the nearest spellings), never a guess."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from indicators.names import CANDIDATE_COLUMNS, CityNotFound, CityQuery, choose, parse_query
from warehouse import lookup
from warehouse.connect import Connection, reading

SPELLINGS = 5


def find_city(con: Connection, text: str) -> tuple[str, pd.DataFrame]:
    """The city `text` names, and the other cities its name is only an alternate or district
    name of (for a note)."""
    query = parse_query(text, lookup.countries(con))
    if query.city_id is not None:
        if lookup.cities(con, [query.city_id]).empty:
            raise CityNotFound(f"{query.city_id} is not in the city registry",
                               pd.DataFrame(columns=CANDIDATE_COLUMNS))
        return query.city_id, pd.DataFrame(columns=CANDIDATE_COLUMNS)
    try:
        return choose(query, lookup.name_candidates(con, query.token, query.country))
    except CityNotFound as error:
        if error.candidates.empty:
            error.candidates = nearest_spellings(con, query)
        raise


def nearest_spellings(con: Connection, query: CityQuery) -> pd.DataFrame:
    """Cities whose name is spelt most like the query's (same first letter): what the user may
    have meant, listed, not chosen."""
    from rapidfuzz import fuzz, process  # only when a name is not found

    names = lookup.similar_names(con, query.key[:1])
    if query.country is not None:
        names = names[names["country_iso2"] == query.country]
    if names.empty:
        return pd.DataFrame(columns=CANDIDATE_COLUMNS)
    folded = names["ascii_name"].str.lower().tolist()
    found = process.extract(query.key, folded, scorer=fuzz.ratio, limit=SPELLINGS,
                            score_cutoff=70)
    rows = names.iloc[[position for _, _, position in found]]
    return rows.assign(matched=rows["name"], tier="spelling")[CANDIDATE_COLUMNS].reset_index(
        drop=True)


def candidate_lines(candidates: pd.DataFrame) -> list[str]:
    """One line per candidate: name, country, population, id, and how the name met it."""
    return [
        f"  {row.name}, {row.country} ({row.country_iso2})"
        + ("" if pd.isna(row.population) else f" · {int(row.population):,} people")
        + f" · {row.city_id}"
        + (f" · {row.tier}: {row.matched}" if row.tier in ("alternate name", "district") else "")
        for row in candidates.itertuples()
    ]


def city_matches(db: Path, text: str) -> tuple[str | None, pd.DataFrame, str]:
    """For the app: the city `text` names (None when none or several), the candidates it could
    be, and why it names no one city ('' when it does)."""
    with reading(db) as con:
        try:
            city_id, _ = find_city(con, text)
        except CityNotFound as error:
            return None, error.candidates, str(error)
        except lookup.SearchIndexMissing as error:
            return None, pd.DataFrame(columns=CANDIDATE_COLUMNS), str(error)
    return city_id, pd.DataFrame(columns=CANDIDATE_COLUMNS), ""
