"""UN World Urbanization Prospects 2018: population of the 1,860 urban agglomerations of
300,000 or more, 1950-2035. File F12 gives every fifth year; file F22, when the publisher (or
the mirror) has it, every year. Values after 2018 are projections and carry the flag 'f'
(forecast), as Eurostat flags its own.

F22 is optional: a 404 for it loads F12 alone. F12 is not: without it the source fails.
Where both give a year (1950, 1955, ..., 2035) F12's value is kept: it is the table the UN
revision is cited by, and F22 repeats it (a disagreement is counted in the notes).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.matching import match_cities
from flows.sources.base import Conformed, Extracted, Registry, Source, fetch_all
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
from flows.sources.resolve import city_aliases, one_record_per_city
from flows.transport import FetchFailed, Transport
from warehouse.parse_error import ParseError
from warehouse.workbook import sheet_frame

F12 = "WUP2018-F12-Cities_Over_300K.xls"
# The UN publishes F22 as .xls (copies found as .xlsx were re-saved); calamine reads either.
F22 = "WUP2018-F22-Cities_Over_300K_Annual.xls"
LAST_ESTIMATE_YEAR = 2018  # the revision's base year; later columns are projections
HEADER_ROW = 16  # 0-based: the sheet opens with the UN's title block and notes
FIVE_YEARLY = [str(y) for y in range(1950, 2036, 5)]
ANNUAL = [str(y) for y in range(1950, 2036)]
# Both files share the UN's layout: these columns, then one column per year.
LABELS = {
    "Country Code": "country_code",
    "City Code": "city_code",
    "Urban Agglomeration": "name",
    "Latitude": "latitude",
    "Longitude": "longitude",
}
# F22 repeats F12's values in thousands with three decimals; more is a real disagreement.
SAME_VALUE_THOUSANDS = 0.0015

INDICATOR = pd.DataFrame(
    [
        (
            "agglomeration_population",
            "Urban agglomeration population",
            "persons",
            1,
            "demography",
            "Population of the urban agglomeration as the UN defines it for the "
            "country (city proper, agglomeration or metropolitan area; see WUP 2018 notes). "
            "Values after 2018 are projections (flag f).",
        )
    ],
    columns=["indicator_id", "name", "unit", "direction", "domain", "description"],
)


class AgglomerationRaw(RawModel):
    country_code: Series[int] = pa.Field(ge=0, le=999)
    city_code: Series[int] = pa.Field(gt=0, unique=True)
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    latitude: Series[float] = pa.Field(ge=-90, le=90)
    longitude: Series[float] = pa.Field(ge=-180, le=180)
    # population in thousands, one column per year
    year: Series[float] = pa.Field(alias=r"^\d{4}$", regex=True, ge=0, nullable=True)


class UnWup(Source):
    meta = publisher_of("un-wup")
    raw_models = {"agglomerations": AgglomerationRaw, "annual": AgglomerationRaw}
    urls = {file: f"https://population.un.org/wup/Download/Files/{file}" for file in (F12, F22)}

    def extract(self, transport: Transport) -> Extracted:
        extracted = fetch_all(transport, {F12: self.urls[F12]}, "WUP 2018")
        try:
            annual = transport.get(self.urls[F22])
        except FetchFailed as error:
            if not error.not_published:
                raise  # an outage is not an absence: loading F12 alone would drop F22's rows
            return extracted
        stated = {F22: annual.last_modified} if annual.last_modified else {}
        return replace(
            extracted,
            files={**extracted.files, F22: annual.content},
            last_modified={**extracted.last_modified, **stated},
        )

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        datasets = [self.dataset(extracted, F12, "WUP 2018 F12: urban agglomerations of "
                                 "300,000+, every five years", "wup2018-f12")]
        places = _read_sheet(F12, extracted.files[F12], FIVE_YEARLY)
        if F22 in extracted.files:
            annual = _read_sheet(F22, extracted.files[F22], ANNUAL)
            datasets.append(self.dataset(extracted, F22, "WUP 2018 F22: urban agglomerations "
                                         "of 300,000+, annual", "wup2018-f22"))
        else:
            annual = pd.DataFrame(columns=[*LABELS.values(), *ANNUAL])
        return {
            "datasets": self.datasets_frame(datasets),
            "agglomerations": places,
            "annual": annual,
        }

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        places, annual = raw["agglomerations"], raw["annual"]
        # F22 lists the same agglomerations; one it alone has is resolved all the same.
        described = pd.concat(
            [places, annual[~annual["city_code"].isin(places["city_code"])]], ignore_index=True
        )
        iso2 = registry.countries.dropna(subset=["iso_numeric"]).set_index("iso_numeric")["iso2"]
        records = pd.DataFrame(
            {
                "key": described["city_code"],
                "name": described["name"],
                "country": described["country_code"].map(iso2),
                "latitude": described["latitude"],
                "longitude": described["longitude"],
            }
        )
        verdicts = match_cities(records, registry.cities, registry.aliases)
        # the larger agglomeration keeps a city two resolve to (same confidence)
        size = verdicts["key"].map(
            described.set_index("city_code")[str(LAST_ESTIMATE_YEAR - 3)]
        )
        verdicts = one_record_per_city(
            verdicts, [verdicts["confidence"], size], what="agglomeration"
        )
        matched = verdicts[verdicts["status"] == "matched"]

        values, disagreements = _values_by_year(places, annual)
        long = values.merge(matched[["key", "city_id"]], left_on="city_code", right_on="key")
        period = long["period"].astype(int)
        observation = pd.DataFrame(
            {
                "city_id": long["city_id"],
                "indicator_id": "agglomeration_population",
                "period": period,
                "source_id": self.meta.source_id,
                "value": long["thousands"] * 1000.0,
                "flag": period.gt(LAST_ESTIMATE_YEAR).map({True: "f", False: None}),
                "dataset_id": long["dataset_id"],
            }
        )
        alias = city_aliases("un-wup", matched["key"].astype(str), matched, self.meta.source_id)
        unresolved = verdicts[verdicts["status"] != "matched"].merge(
            records[["key", "name"]], on="key"
        )
        notes = [f"{len(matched):,} of {len(described):,} agglomerations resolved to cities"]
        if annual.empty:
            notes.append("F22 (annual) not available: every fifth year only (F12)")
        else:
            notes.append(
                f"F22: {len(annual):,} agglomerations, annual; {disagreements:,} five-yearly "
                "values differ from F12 (F12 kept)"
            )
        return self.conformed(raw, INDICATOR, observation=observation, city_alias=alias,
                              unresolved=unresolved, notes=notes)


def _read_sheet(name: str, content: bytes, years: list[str]) -> pd.DataFrame:
    """The Data sheet below the UN's title block, columns renamed, years as text."""
    sheet = sheet_frame(content, name, "Data", header=HEADER_ROW)
    sheet.columns = [_column_name(c) for c in sheet.columns]
    found = [c for c in sheet.columns if c.isdigit()]
    missing = [label for label in LABELS if label not in sheet.columns]
    if missing or found != years:
        raise ParseError(
            name,
            f"sheet 'Data', row {HEADER_ROW + 1}",
            f"the header {', '.join(LABELS)}, then the years {years[0]}..{years[-1]} "
            f"({len(years)} columns)",
            missing or f"{len(found)} year columns",
        )
    return sheet.rename(columns=LABELS)


def _column_name(label: object) -> str:
    """Year headers come back as 1955 or 1955.0 depending on the cell type; keep '1955'."""
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


def _values_by_year(places: pd.DataFrame, annual: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One value per agglomeration and year (F12 first, F22 for the years between), and how
    many five-yearly values the two files disagree on."""

    def long(frame: pd.DataFrame, dataset_id: str) -> pd.DataFrame:
        years = [c for c in frame.columns if c.isdigit()]
        return (
            frame.melt(
                id_vars="city_code", value_vars=years, var_name="period", value_name="thousands"
            )
            .dropna(subset=["thousands"])
            .assign(dataset_id=dataset_id)
        )

    five, every = long(places, "wup2018-f12"), long(annual, "wup2018-f22")
    both = five.merge(every, on=["city_code", "period"], suffixes=("", "_annual"))
    disagreements = int(
        ((both["thousands"] - both["thousands_annual"]).abs() > SAME_VALUE_THOUSANDS).sum()
    )
    values = pd.concat([five, every], ignore_index=True).drop_duplicates(
        ["city_code", "period"], keep="first"
    )
    return values, disagreements


