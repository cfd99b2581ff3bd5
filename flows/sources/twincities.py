"""Twin towns and sister cities as English Wikipedia lists them, scraped and geocoded by the
twincities project (github.com/Hekman/twincities): one city_link of kind 'twinning' per pair.

Two files of one commit: every pair listed (`twin_cities_raw.csv`: city, country, city, country)
and the pairs geocoded (`app/public/twin_cities.csv`: with the latitude and longitude of both).
Each side is resolved by name, country and point (by name and country alone for the pairs the
project could not geocode). A pair is loaded when both sides resolve to two different cities;
pairs with a side not resolved are reported with the reason. The URLs name the commit the
files were checked at: the project moved its files between commits, a branch URL would break.

Wikipedia's lists are current lists: the links take the year the files were fetched (their
Last-Modified, else the day of the fetch).
"""

from __future__ import annotations

import csv
import email.utils
import io
from typing import ClassVar
from urllib.parse import urlsplit

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.matching import match_cities, name_key
from flows.sources.base import (
    Conformed,
    Dataset,
    Extracted,
    FromPublisher,
    ParseError,
    Registry,
    SourceMeta,
    dataset_frame,
    fetch_all,
)
from flows.transport import Transport
from warehouse.schemas import DatasetTable

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


class TwinPairRaw(pa.DataFrameModel):
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

    class Config:
        strict = "filter"
        coerce = True


class TwinCities(FromPublisher):
    meta: ClassVar[SourceMeta] = SourceMeta(
        source_id="twincities",
        publisher="English Wikipedia, via github.com/Hekman/twincities",
        dataset="Twin towns and sister cities listed on English Wikipedia, geocoded",
        url="https://github.com/Hekman/twincities",
        licence="CC BY-SA 4.0 (Wikipedia content); code MIT",
        attribution="English Wikipedia, 'List of twin towns and sister cities in ...' pages, "
        "CC BY-SA 4.0, via github.com/Hekman/twincities (Erik Hekman).",
        cadence_days=365,
    )
    raw_models: ClassVar[dict[str, type[pa.DataFrameModel]]] = {
        "datasets": DatasetTable,
        "pairs": TwinPairRaw,
    }
    urls: ClassVar[dict[str, str]] = {
        GEOCODED: f"{REPOSITORY}/app/public/{GEOCODED}",
        LISTED: f"{REPOSITORY}/{LISTED}",
    }

    def extract(self, transport: Transport) -> Extracted:
        return fetch_all(transport, self._urls())

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        urls = self._urls()
        names = {key: urlsplit(url).path.rsplit("/", 1)[-1] for key, url in urls.items()}
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
        datasets = [
            Dataset(key, title, urls[key], extracted.last_modified.get(key))
            for key, title in TITLES.items()
        ]
        return {
            "datasets": dataset_frame(self.meta.source_id, datasets),
            "pairs": pairs.drop(columns=["_merge", "line_geocoded"]).assign(
                as_of=_fetch_year(extracted)
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
        at = {place: i for i, place in enumerate(zip(sides["city"], sides["country"], strict=True))}

        def verdict_on(city: str, country: str) -> pd.DataFrame:
            places = zip(pairs[city], pairs[country], strict=True)
            return verdicts.loc[[at[place] for place in places]].set_axis(pairs.index)

        one, two = verdict_on("city1", "country1"), verdict_on("city2", "country2")
        resolved = (one["status"] == "matched") & (two["status"] == "matched")
        first, second = one.loc[resolved, "city_id"], two.loc[resolved, "city_id"]
        links = pd.DataFrame(
            {
                "kind": "twinning",
                "city_a": first.where(first < second, second),
                "city_b": second.where(first < second, first),
                "period": pairs.loc[resolved, "as_of"],
                "weight": 1.0,
                "source_id": self.meta.source_id,
                "dataset_id": pairs.loc[resolved, "dataset_id"],
            }
        )
        itself = links["city_a"] == links["city_b"]
        # A pair listed twice, or two name pairs that are one pair of cities: one link.
        kept = links[~itself].drop_duplicates(["city_a", "city_b", "period"])
        unresolved = _reported(pairs[~resolved], one[~resolved], two[~resolved])
        return Conformed(
            dataset=raw["datasets"],
            city_link=kept.reset_index(drop=True),
            unresolved=unresolved,
            notes=[
                f"{len(pairs):,} pairs: {len(kept):,} links, {int(itself.sum()):,} of a city "
                f"with itself dropped, {len(links) - int(itself.sum()) - len(kept):,} repeats "
                f"merged, {len(unresolved):,} with a side not resolved",
                f"{len(sides):,} places named: {int((verdicts['status'] == 'matched').sum()):,} "
                "resolved to cities",
            ],
        )


def read_csv(name: str, content: bytes, header: list[str]) -> pd.DataFrame:
    """A CSV file with this header, every line with all its fields; `line` is its line number."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParseError(
            name, f"byte {error.start:,}", "UTF-8 text", content[error.start : error.start + 8]
        ) from None
    if not text.endswith("\n"):
        # The project's files end every line: a file cut short ends mid-line.
        raise ParseError(
            name, f"line {text.count(chr(10)) + 1:,}", "a line end (file truncated?)",
            text[text.rfind("\n") + 1 :],
        )
    reader = csv.reader(io.StringIO(text), strict=True)
    rows, lines = [], []
    try:
        if (found := next(reader, None)) != header:
            raise ParseError(name, "line 1", "the header " + ",".join(header), found)
        for row in reader:
            if len(row) != len(header):
                raise ParseError(
                    name, f"line {reader.line_num:,}", f"{len(header)} fields", f"{len(row)}"
                )
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as error:
        raise ParseError(name, f"line {reader.line_num:,}", "CSV", error) from None
    return pd.DataFrame(rows, columns=header).assign(line=lines)


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


def _fetch_year(extracted: Extracted) -> int:
    stated = sorted(extracted.last_modified.values())
    if stated:
        try:
            return email.utils.parsedate_to_datetime(stated[-1]).year
        except (TypeError, ValueError):
            pass  # an unreadable header says nothing; the fetch date still holds
    return extracted.retrieved_at.year


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

    reasons = pd.concat(
        [
            side(pairs["city1"], pairs["country1"], one),
            side(pairs["city2"], pairs["country2"], two),
        ],
        axis=1,
    )
    status = one["status"].where(one["status"] != "matched", two["status"])
    return pd.DataFrame(
        {
            "key": pairs["file"] + " line " + pairs["line"].astype(str),
            "name": pairs["city1"] + " - " + pairs["city2"],
            "status": status,
            "reason": reasons.apply(lambda r: "; ".join(r.dropna()), axis=1),
        }
    ).reset_index(drop=True)
