"""GeoNames from the publisher's daily dump: the city registry when the network is there.

Same registry as the offline package edition (geonames_cache.py), built by the same conform
(geonames_registry.py) from the publisher's current files: `cities15000.zip` (or `.txt`, or
another cities file such as cities1000.zip set in citybench.toml) and `countryInfo.txt`.
The files are tab-separated, without header, and unquoted: names contain quote characters, so
quoting is off. The values describe the year of the newest modification date in the file.

Its own source id (`geonames-dump`): SOURCES is keyed by source id, so the two editions cannot
share one. A registry load replaces the whole city and country tables; the other edition's rows
(observations, aliases) stay under its own source id, and if one of them points to a city the
new registry lacks, the integrity check refuses to publish. One registry per warehouse.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from urllib.parse import urlsplit

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.sources.base import Extracted, ParseError
from flows.sources.geonames_registry import CityRaw, CountryRaw, GeonamesRegistry
from flows.sources.publishers import publisher_of
from warehouse.text import require_final_line_end, utf8_text

CITIES, COUNTRIES = "cities", "countries"

# The columns of the GeoNames readme (download.geonames.org/export/dump/readme.txt), in order.
CITY_COLUMNS = [
    "geonameid", "name", "asciiname", "alternatenames", "latitude", "longitude",
    "featureclass", "featurecode", "countrycode", "cc2", "admin1code", "admin2code",
    "admin3code", "admin4code", "population", "elevation", "dem", "timezone",
    "modificationdate",
]  # fmt: skip
COUNTRY_COLUMNS = [
    "iso", "iso3", "isonumeric", "fips", "name", "capital", "areakm2", "population",
    "continentcode", "tld", "currencycode", "currencyname", "phone", "postalcodeformat",
    "postalcoderegex", "languages", "geonameid", "neighbours", "equivalentfipscode",
]  # fmt: skip
CITY_NUMBERS = ["geonameid", "latitude", "longitude", "population"]
COUNTRY_NUMBERS = ["isonumeric", "population"]
ZIP_MAGIC = b"PK\x03\x04"


class DumpCityRaw(CityRaw):
    modificationdate: Series[str] = pa.Field(str_fullmatch=r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class GeonamesDump(GeonamesRegistry):
    meta = publisher_of("geonames-dump")
    raw_models = {"cities": DumpCityRaw, "countries": CountryRaw}
    urls = {
        CITIES: "https://download.geonames.org/export/dump/cities15000.zip",
        COUNTRIES: "https://download.geonames.org/export/dump/countryInfo.txt",
    }
    published_as = {CITIES: ("cities15000.zip", "cities15000.txt")}  # the zip, or what it holds

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        names = {key: urlsplit(url).path.rsplit("/", 1)[-1] for key, url in self.urls.items()}
        cities = read_table(
            names[CITIES], unzipped(names[CITIES], extracted.files[CITIES]), CITY_COLUMNS,
            CITY_NUMBERS,
        )
        cities["alternatenames"] = [
            [n for n in text.split(",") if n] for text in cities["alternatenames"]
        ]
        countries = read_table(
            names[COUNTRIES], extracted.files[COUNTRIES], COUNTRY_COLUMNS, COUNTRY_NUMBERS,
            comments=True,
        )
        newest = cities["modificationdate"].max()
        datasets = [
            self.dataset(extracted, CITIES, f"GeoNames {names[CITIES]}: populated places",
                         names[CITIES].split(".")[0], extracted.last_modified.get(CITIES)
                         or f"places modified up to {newest}"),
            self.dataset(extracted, COUNTRIES, "GeoNames countryInfo.txt: countries",
                         "countryInfo"),
        ]
        return {
            "datasets": self.datasets_frame(datasets),
            "cities": cities,
            "countries": countries,
        }

    def period(self, raw: dict[str, pd.DataFrame]) -> int:
        return int(raw["cities"]["modificationdate"].max()[:4])


def unzipped(name: str, content: bytes) -> bytes:
    """The text file inside a GeoNames zip; a file that is not a zip is taken as the text."""
    if not content.startswith(ZIP_MAGIC):
        return content
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as error:
        # The directory a zip needs sits at its end: a truncated zip loses it first.
        raise ParseError(
            name, f"byte {len(content):,} (end of file)", "a complete zip archive", error
        ) from None
    members = [m for m in archive.namelist() if m.endswith(".txt")]
    if len(members) != 1:
        raise ParseError(name, "zip directory", "exactly one .txt file", archive.namelist())
    try:
        return archive.read(members[0])
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ParseError(name, f"member {members[0]}", "intact compressed data", error) from None


def read_table(
    name: str,
    content: bytes,
    columns: list[str],
    numbers: list[str],
    *,
    comments: bool = False,
) -> pd.DataFrame:
    """A GeoNames tab-separated file: no header, no quoting, every line with all its fields.

    Quoting is off because names such as 'Ehskal'des' carry quote characters; a CSV reader that
    honours quotes would swallow lines. Numbers are checked here, with the line they are on.
    """
    text = utf8_text(content, name)
    require_final_line_end(text, name)  # GeoNames ends every line, the last one too
    rows, numbered = [], []
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        if comments and line.startswith("#"):
            continue
        fields = line.removesuffix("\r").split("\t")
        if len(fields) != len(columns):
            raise ParseError(
                name, f"line {number:,}", f"{len(columns)} tab-separated fields",
                f"{len(fields)} fields",
            )
        rows.append(fields)
        numbered.append(number)
    if not rows:
        raise ParseError(name, "line 1", "at least one record", text[:60])
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    for column in numbers:
        values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        bad = values.isna() & frame[column].str.strip().ne("")
        if bad.any():
            at = int(bad.to_numpy().nonzero()[0][0])
            raise ParseError(
                name, f"line {numbered[at]:,}, column {column}", "a number", frame[column].iloc[at]
            )
        frame[column] = values
    return frame
