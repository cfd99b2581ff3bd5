"""Users' own data files: what municipal staff add to the warehouse themselves.

Listed in citybench.toml, in the canonical long format of flows/user_data.py, or as
practices and lessons (flows/sources/practices.py: YAML, or a table with `outcome` and
`lesson` columns), which go to the `practice` table:

    [sources.user]
    files = ["data/berlin-cycling.csv", "https://intranet.example/figures.xlsx",
             "practices.yaml"]

Local paths are read from disk, relative to the config file; URLs through the transport. Each
file (and within it each `source` named) is a dataset. A URL is fetched as given but named
redacted (warehouse/redact.py): a password or token in it appears in no dataset, message, log
or table. Cities are given as canonical ids or
resolved by name (and country, when the file has one); indicators new to the warehouse are
created with the unit the file gives ('unspecified' when it gives none), and ones the
warehouse has keep their definition (their owner's row is never overwritten).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.matching import match_cities
from flows.sources import resolve
from flows.sources.base import (
    Conformed,
    Dataset,
    Extracted,
    Registry,
    Source,
    fetch_listed,
    listed_location,
)
from flows.sources.practices import COLUMNS as PRACTICE_COLUMNS
from flows.sources.practices import (
    YAML_SUFFIXES,
    PracticeFile,
    PracticeRows,
    conform_practices,
    is_practice_file,
    practices_of_table,
    practices_of_yaml,
)
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
from flows.transport import Transport
from flows.user_data import (
    CANONICAL_ID,
    COLUMNS,
    FORMATS,
    UserFile,
    UserRows,
    file_suffix,
    read_table,
    user_file,
)
from indicators.names import name_key
from warehouse.config import SourceSettings
from warehouse.parse_error import ParseError

NO_UNIT = "unspecified"


class FileRaw(RawModel):
    """Each file read: its rows with a value, and those without one (left out, never zero);
    whether it holds practices rather than values."""

    file: Series[str]
    rows: Series[int] = pa.Field(ge=0)
    missing: Series[int] = pa.Field(ge=0)
    practices: Series[bool]


class UserSettings(SourceSettings):
    """[sources.user] files = ["our-city.csv", "https://intranet/kpis.xlsx"]: paths (relative
    to the config file) or URLs, read in this order."""

    files: list[str] = []


class UserFiles(Source):
    meta = publisher_of("user")
    raw_models = {"observations": UserRows, "practices": PracticeRows, "files": FileRaw}
    # a rejected row is named by its file and line (or row, or item)
    raw_identify = {"observations": ["file", "position"], "practices": ["file", "position"]}
    Settings = UserSettings

    # Verdicts of every place of a file resolved ahead of its pieces, when `citybench check`
    # reads a large file piece by piece: the registry's names are then folded once.
    resolved: pd.DataFrame | None = None

    def resolve(self, places: pd.DataFrame, registry: Registry) -> pd.DataFrame:
        if self.resolved is None:
            return _resolve(places, registry)
        return places.merge(self.resolved, on=["city", "country"], how="left")

    def extract(self, transport: Transport) -> Extracted:
        """Every listed file's bytes, by the name it is shown under."""
        return fetch_listed(transport, self.settings.files, self.settings, "[sources.user] files")

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        """Every listed file's rows as text, for UserRows (values) or PracticeRows
        (practices) to check, a dataset per file and source, and per file the rows without a
        value; a file that is no table in either format fails the source (ParseError)."""
        read = [_read_listed(entry, content) for entry, content in extracted.files.items()]
        values = [file for file in read if isinstance(file, UserFile)]
        practices = [file for file in read if isinstance(file, PracticeFile)]
        datasets = [
            Dataset(_dataset_id(file.name, source),
                    source if isinstance(source, str) else Path(file.name).name,
                    listed_location(file.name, self.settings),
                    extracted.last_modified.get(file.name))
            for file in values
            for source in file.rows["source"].drop_duplicates()
        ] + [
            Dataset(file.name, Path(file.name).name, listed_location(file.name, self.settings),
                    extracted.last_modified.get(file.name))
            for file in practices
        ]
        observations = (pd.concat([file.rows for file in values], ignore_index=True) if values
                        else pd.DataFrame(columns=COLUMNS))
        practice_rows = (pd.concat([f.rows for f in practices], ignore_index=True) if practices
                         else pd.DataFrame(columns=PRACTICE_COLUMNS))
        listed = self.datasets_frame(datasets)
        files = pd.DataFrame({"file": [f.name for f in read],
                              "rows": [len(f.rows) for f in read],
                              "missing": [f.missing for f in read],
                              "practices": [isinstance(f, PracticeFile) for f in read]})
        # With no file listed the frames are empty, and their columns must still be text.
        return {"datasets": listed.astype("str") if listed.empty else listed,
                "observations": observations, "practices": practice_rows, "files": files}

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        rows = raw["observations"]
        rows = rows.assign(dataset_id=[_dataset_id(f, s) for f, s in
                                       zip(rows["file"], rows["source"], strict=True)])
        practice_rows = raw["practices"]
        places = pd.concat([rows[["city", "country"]], practice_rows[["city", "country"]]],
                           ignore_index=True).drop_duplicates()
        verdicts = self.resolve(places, registry)
        resolved = rows.merge(verdicts, on=["city", "country"], how="left")
        matched = resolved[resolved["status"] == "matched"]
        # Files are read in the order listed: the first value for a city, indicator and year
        # stands; a later one (another file, or two names of one city) is reported.
        repeated = matched.duplicated(["city_id", "indicator", "period"])
        kept = matched[~repeated]
        observation = pd.DataFrame(
            {
                "city_id": kept["city_id"],
                "indicator_id": kept["indicator"],
                "period": kept["period"],
                "source_id": self.meta.source_id,
                "value": kept["value"],
                "flag": None,
                "dataset_id": kept["dataset_id"],
            }
        )
        first = kept.set_index(["city_id", "indicator", "period"])
        first_at = (first["file"] + ", " + first["position"]).to_dict()
        doubles = matched[repeated]
        # a place is reported with the values it names; practices report each row themselves
        reported = (rows[["city", "country"]].drop_duplicates()
                    .merge(verdicts, on=["city", "country"], how="left"))
        reported = reported[reported["status"] != "matched"]
        practice, practice_unresolved = conform_practices(practice_rows, verdicts,
                                                          self.meta.source_id)
        practices_listed = bool(raw["files"]["practices"].any())
        unresolved = pd.concat(
            [
                resolve.unresolved(
                    reported["city"] + reported["country"].map(
                        lambda c: f" ({c})" if isinstance(c, str) else ""),
                    reported["city"], reported["status"], reported["reason"],
                ),
                resolve.unresolved(
                    doubles["file"] + ", " + doubles["position"], doubles["city"], "duplicate",
                    [f"{city} already has {indicator} {period} from "
                     f"{first_at[(city, indicator, period)]}"
                     for city, indicator, period in zip(
                         doubles["city_id"], doubles["indicator"], doubles["period"], strict=True)],
                ),
                practice_unresolved,
            ],
            ignore_index=True,
        )
        return self.conformed(
            raw,
            _indicators(rows),
            observation=observation,
            # with no practice file listed the table is left as it is (a load writes only the
            # tables it has rows for); an empty practice file lists none, and clears them
            practice=practice if practices_listed else None,
            unresolved=unresolved,
            notes=[f"{len(observation):,} of {len(rows):,} values and {len(practice):,} of "
                   f"{len(practice_rows):,} practices of {len(raw['files']):,} file(s) "
                   f"loaded; {raw['files']['missing'].sum():,} row(s) without a value left "
                   "out"],
        )


def _read_listed(name: str, content: bytes) -> UserFile | PracticeFile:
    """A listed file as values or as practices, by its kind: YAML holds practices, and so
    does a table whose header has their columns; the table is read once either way."""
    suffix = file_suffix(name)
    if suffix in YAML_SUFFIXES:
        return practices_of_yaml(name, content)
    if suffix not in FORMATS:
        raise ParseError(name, "the file name", f"a {', '.join(FORMATS)} file (or "
                         f"{', '.join(YAML_SUFFIXES)} for practices)", suffix or "no suffix")
    header, body, where = read_table(name, content)
    if is_practice_file(name, header):
        return practices_of_table(name, header, body, where)
    return user_file(name, header, body, where)


def _dataset_id(file: str, source: object) -> str:
    """Each file, and within it each source a row names, is a dataset."""
    return file + (f" ({source})" if isinstance(source, str) else "")


def _indicators(rows: pd.DataFrame) -> pd.DataFrame:
    """Every indicator the files use, for the warehouse to create if it lacks one."""
    first = rows.sort_values("unit", na_position="last").drop_duplicates("indicator")
    files = rows.groupby("indicator")["file"].agg(lambda f: ", ".join(dict.fromkeys(f)))
    return pd.DataFrame(
        {
            "indicator_id": first["indicator"],
            "name": first["indicator"],
            "unit": first["unit"].fillna(NO_UNIT),
            "direction": 1,
            "domain": "user",
            "description": "Added from user data (" + first["indicator"].map(files)
            + "); unit as the file gives it.",
        }
    )


def _resolve(places: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """A verdict per distinct (city, country) of the files: ids looked up, names matched."""
    known_ids = set(registry.cities["city_id"])
    pairs = [
        (city, country if isinstance(country, str) else None)
        for city, country in zip(places["city"], places["country"], strict=True)
    ]
    countryless = [city for city, country in pairs
                   if country is None and not CANONICAL_ID.fullmatch(city)]
    countries = _countries_of(countryless, registry) if countryless else {}
    verdicts, by_name = [], []  # by_name: (city, country given, country matched in)
    for city, country in pairs:
        found = countries.get(city)
        if CANONICAL_ID.fullmatch(city):
            known = city in known_ids
            verdicts.append((city, country, city if known else None,
                             "matched" if known else "unmatched",
                             "canonical id" if known else f"no city {city} in the registry"))
        elif country is not None:
            by_name.append((city, country, country))
        elif found is None:
            verdicts.append((city, None, None, "unmatched",
                             f"no city called {city!r} in the registry"))
        elif isinstance(found, tuple):
            verdicts.append((city, None, None, "ambiguous",
                             f"cities called {city!r} in {', '.join(found)}: add a country "
                             "column"))
        else:
            by_name.append((city, None, found))
    if by_name:
        records = pd.DataFrame(
            {"key": range(len(by_name)), "name": [b[0] for b in by_name],
             "country": [b[2] for b in by_name]}
        )
        matched = match_cities(records, registry.cities, registry.aliases)
        for (city, country, _), row in zip(by_name, matched.itertuples(index=False), strict=True):
            verdicts.append((city, country, row.city_id, row.status, row.reason))
    return pd.DataFrame(verdicts, columns=["city", "country", "city_id", "status", "reason"])


def _countries_of(cities: list[str], registry: Registry) -> dict[str, object]:
    """For names given without a country: the one country that has a city of that name (ISO2),
    the countries when several have (a tuple), nothing when none has."""
    wanted = {name_key(city): city for city in cities}
    aliases = pd.concat(
        [registry.aliases, registry.cities[["name", "city_id"]].rename(columns={"name": "alias"})]
    )
    aliases = aliases[aliases["alias"].map(lambda a: name_key(a) in wanted)]
    country = registry.cities.set_index("city_id")["country_iso2"]
    found: dict[str, set[str]] = {}
    for alias, city_id in zip(aliases["alias"], aliases["city_id"], strict=True):
        found.setdefault(wanted[name_key(alias)], set()).add(country.get(city_id))
    return {
        city: (next(iter(codes)) if len(codes) == 1 else tuple(sorted(codes)))
        for city, codes in found.items()
    }
