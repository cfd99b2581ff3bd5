"""Twin towns and sister cities as English Wikipedia lists them, scraped and geocoded by the
twincities project (github.com/Hekman/twincities): one city_link of kind 'twinning' per pair.

Two files of one commit: every pair listed (`twin_cities_raw.csv`: city, country, city, country)
and the pairs geocoded (`app/public/twin_cities.csv`: with the latitude and longitude of both).
Each side is resolved by name, country and point (by name and country alone for the pairs the
project could not geocode). A pair is loaded when both sides resolve to two different cities;
pairs with a side not resolved are reported with the reason. A side named after a district or
suburb that the registry folds into a city (Paris's arrondissements, Alfortville) resolves to
that city but is not it: the pair is left out, so a city's links are its own twinnings only
(the notes count them). The URLs name the commit the
files were checked at: the project moved its files between commits, a branch URL would break.

Wikipedia's lists are current lists: the links take the year the files were fetched (their
Last-Modified, else the day of the fetch).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.matching import match_cities
from flows.sources.base import Conformed, Extracted, ParseError, Registry, Source
from flows.sources.links import distinct_links
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
from flows.sources.resolve import named_after_folded_place, unresolved
from indicators.names import name_key
from warehouse.csv_records import read_csv_records

COMMIT = "84ebdec26ee6878367953cfbc56311ae6452752b"
REPOSITORY = f"https://raw.githubusercontent.com/Hekman/twincities/{COMMIT}"
GEOCODED, LISTED = "twin_cities.csv", "twin_cities_raw.csv"
NAMES = ["city1", "country1", "city2", "country2"]
GEOCODED_HEADER = ["city1", "country1", "lat1", "lng1", "city2", "country2", "lat2", "lng2"]
COORDINATES = ["lat1", "lng1", "lat2", "lng2"]
TITLES = {
    GEOCODED: "Twin-city pairs with coordinates of both cities",
    LISTED: "Twin-city pairs as listed on English Wikipedia",
}

# English Wikipedia's names for countries that GeoNames names otherwise, or does not list.
WIKIPEDIA_COUNTRIES = {
    "Czech Republic": "CZ",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "Republic of Ireland": "IE",
    "Georgia (country)": "GE",
    "Cape Verde": "CV",
    "Northern Cyprus": "CY",  # GeoNames files the places of the north under Cyprus
    "Congo": "CG",  # Wikipedia's lists name the Democratic Republic in full
    "Moldavia": "MD",
    "Timor-Leste": "TL",
    "East Timor": "TL",
    "Bosnia and Hercegovina": "BA",
    "Surinam": "SR",
    "Federated States of Micronesia": "FM",
    "Israel": "IL",
    "Palestine": "PS",
    "West Bank": "PS",
    "Netherlands": "NL",
    "Ivory Coast": "CI",
    "Turkey": "TR",
}


class TwinPairRaw(RawModel):
    line: Series[int] = pa.Field(gt=1)  # where `file` lists the pair
    file: Series[str] = pa.Field(isin=[GEOCODED, LISTED])
    city1: Series[str] = pa.Field(str_length={"min_value": 1})
    country1: Series[str]
    city2: Series[str] = pa.Field(str_length={"min_value": 1})
    country2: Series[str]
    lat1: Series[float] = pa.Field(nullable=True, ge=-90, le=90)
    lng1: Series[float] = pa.Field(nullable=True, ge=-180, le=180)
    lat2: Series[float] = pa.Field(nullable=True, ge=-90, le=90)
    lng2: Series[float] = pa.Field(nullable=True, ge=-180, le=180)
    dataset_id: Series[str] = pa.Field(isin=[GEOCODED, LISTED])
    as_of: Series[int] = pa.Field(ge=1800, le=2100)


class TwinCities(Source):
    meta = publisher_of("twincities")
    raw_models = {"pairs": TwinPairRaw}
    urls = {GEOCODED: f"{REPOSITORY}/app/public/{GEOCODED}", LISTED: f"{REPOSITORY}/{LISTED}"}
    published_as = {GEOCODED: (GEOCODED, "twincities_geocoded.csv"),
                    LISTED: (LISTED, "twincities_raw.csv")}

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        names = {key: urlsplit(url).path.rsplit("/", 1)[-1] for key, url in self.urls.items()}
        geocoded = read_csv(names[GEOCODED], extracted.files[GEOCODED], GEOCODED_HEADER)
        listed = read_csv(names[LISTED], extracted.files[LISTED], NAMES)
        for column in COORDINATES:
            geocoded[column] = _numbers(names[GEOCODED], geocoded, column)
        # Every listed pair, with the points of those the project geocoded.
        # A pair listed twice stays twice (it becomes one link, counted as a repeat); its
        # points are taken once.
        pairs = listed.merge(
            geocoded.drop_duplicates(NAMES), on=NAMES, how="outer", suffixes=("", "_geocoded"),
            indicator=True,
        )
        listed_here = pairs["_merge"] != "right_only"
        pairs["file"] = listed_here.map({True: LISTED, False: GEOCODED})
        pairs["line"] = pairs["line"].where(listed_here, pairs["line_geocoded"]).astype(int)
        pairs["dataset_id"] = (pairs["_merge"] == "left_only").map({True: LISTED, False: GEOCODED})
        datasets = [self.dataset(extracted, key, title) for key, title in TITLES.items()]
        return {
            "datasets": self.datasets_frame(datasets),
            # Wikipedia's lists are current lists: of the year they were fetched
            "pairs": pairs.drop(columns=["_merge", "line_geocoded"]).assign(
                as_of=extracted.stated_year()
            ),
        }

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        pairs = raw["pairs"]
        countries = country_lookup(registry.countries)
        sides = _sides(pairs)
        records = pd.DataFrame(
            {
                "key": sides.index,
                "name": sides["city"],
                "country": sides["country"].map(lambda name: country_iso2(name, countries)),
                "latitude": sides["lat"],
                "longitude": sides["lng"],
            }
        )
        known = records["country"].notna()
        verdicts = pd.concat(
            [
                match_cities(records[known], registry.cities, registry.aliases),
                pd.DataFrame(
                    {
                        "key": records.loc[~known, "key"],
                        "status": "unmatched",
                        "reason": "country " + sides.loc[~known, "country"].map(repr)
                        + " not known",
                    }
                ),
            ],
            ignore_index=True,
        ).set_index("key")
        verdicts["folded"] = named_after_folded_place(
            verdicts.reset_index(), sides["city"], registry).to_numpy()
        at = {place: i for i, place in enumerate(zip(sides["city"], sides["country"], strict=True))}

        def verdict_on(city: str, country: str) -> pd.DataFrame:
            places = zip(pairs[city], pairs[country], strict=True)
            return verdicts.loc[[at[place] for place in places]].set_axis(pairs.index)

        one, two = verdict_on("city1", "country1"), verdict_on("city2", "country2")
        resolved = (one["status"] == "matched") & (two["status"] == "matched")
        # A district's or suburb's twins are its own, not those of the city the registry
        # folds it into: such pairs are not the city's links.
        folded = resolved & (one["folded"] | two["folded"]).astype(bool)
        kept = resolved & ~folded
        # A pair listed twice, or two name pairs that are one pair of cities: one link.
        found = distinct_links(
            one.loc[kept, "city_id"], two.loc[kept, "city_id"],
            period=pairs.loc[kept, "as_of"], dataset_id=pairs.loc[kept, "dataset_id"],
        )
        unresolved = _reported(pairs[~resolved], one[~resolved], two[~resolved])
        return self.conformed(
            raw,
            city_link=found.links.assign(kind="twinning", weight=1.0,
                                         source_id=self.meta.source_id).reset_index(drop=True),
            unresolved=unresolved,
            notes=[
                f"{len(pairs):,} pairs: {len(found.links):,} links, {found.self_links:,} of a "
                f"city with itself dropped, {found.repeats:,} repeats merged, "
                f"{len(unresolved):,} with a side not resolved, {int(folded.sum()):,} of a "
                "district or suburb folded into a city left out (the city's own twins count)",
                f"{len(sides):,} places named: {int((verdicts['status'] == 'matched').sum()):,} "
                "resolved to cities",
            ],
        )


def read_csv(name: str, content: bytes, header: list[str]) -> pd.DataFrame:
    """A CSV file with this header, every line with all its fields; `line` is its line number."""
    # The project's files end every line: a file cut short ends mid-line.
    records = read_csv_records(content, name, final_line_end=True, delimiter=",",
                               width=len(header))
    if (found := records.rows[0] if records.rows else None) != header:
        raise ParseError(name, "line 1", "the header " + ",".join(header), found)
    return pd.DataFrame(records.rows[1:], columns=header).assign(line=records.lines[1:])


def _numbers(name: str, frame: pd.DataFrame, column: str) -> pd.Series:
    text = frame[column].str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.ne("")
    if bad.any():
        at = bad.idxmax()
        raise ParseError(
            name, f"line {frame.loc[at, 'line']:,}, column {column}", "a number",
            frame.loc[at, column],
        )
    return values


def country_lookup(countries: pd.DataFrame) -> dict[str, str]:
    """ISO2 by folded country name: the registry's names, then Wikipedia's."""
    lookup = {name_key(name): iso2 for name, iso2 in zip(countries["name"], countries["iso2"],
                                                         strict=True)}
    lookup.update({name_key(name): iso2 for name, iso2 in WIKIPEDIA_COUNTRIES.items()})
    return lookup


def country_iso2(name: str, lookup: dict[str, str]) -> str | None:
    """'France' -> FR; 'Réunion, France' -> RE (the first part that is a country); 'England,
    United Kingdom' -> GB."""
    for part in [name, *name.split(",")]:
        if found := lookup.get(name_key(part)):
            return found
    return None


def _sides(pairs: pd.DataFrame) -> pd.DataFrame:
    """Every place named, once per (city, country), with the first point given for it."""
    columns = ["city", "country", "lat", "lng"]
    sides = pd.concat(
        [
            pairs[["city1", "country1", "lat1", "lng1"]].set_axis(columns, axis=1),
            pairs[["city2", "country2", "lat2", "lng2"]].set_axis(columns, axis=1),
        ],
        ignore_index=True,
    )
    return sides.groupby(["city", "country"], sort=True).first().reset_index()


def _reported(pairs: pd.DataFrame, one: pd.DataFrame, two: pd.DataFrame) -> pd.DataFrame:
    """One row per pair not loaded, naming the side (or sides) that did not resolve."""
    def side(city, country, verdict) -> pd.Series:
        failed = verdict["status"] != "matched"
        return (city + " (" + country + "): " + verdict["status"] + ", "
                + verdict["reason"].fillna("")).where(failed)

    first = side(pairs["city1"], pairs["country1"], one)
    second = side(pairs["city2"], pairs["country2"], two)
    status = one["status"].where(one["status"] != "matched", two["status"])
    return unresolved(
        pairs["file"] + " line " + pairs["line"].astype(str), pairs["city1"] + " - "
        + pairs["city2"], status, (first + "; " + second).fillna(first).fillna(second),
    ).reset_index(drop=True)
