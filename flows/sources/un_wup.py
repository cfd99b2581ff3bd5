"""UN World Urbanization Prospects 2018: population of the 1,860 urban agglomerations of
300,000 or more, 1950-2035 (file F12, every five years). Values after 2018 are projections and
carry the flag 'f' (forecast), as Eurostat flags its own.
"""

from __future__ import annotations

import io
from typing import ClassVar

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.matching import match_cities
from flows.sources.base import (
    Conformed,
    Dataset,
    Extracted,
    Registry,
    SourceMeta,
    dataset_frame,
    fetch_all,
)
from flows.transport import Transport
from warehouse.location import source_urls
from warehouse.schemas import DatasetTable

F12 = "WUP2018-F12-Cities_Over_300K.xls"
LAST_ESTIMATE_YEAR = 2018  # the revision's base year; later columns are projections
HEADER_ROW = 16  # 0-based: the sheet opens with the UN's title block and notes

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


class AgglomerationRaw(pa.DataFrameModel):
    country_code: Series[int] = pa.Field(ge=0, le=999)
    city_code: Series[int] = pa.Field(gt=0, unique=True)
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    latitude: Series[float] = pa.Field(ge=-90, le=90)
    longitude: Series[float] = pa.Field(ge=-180, le=180)
    # population in thousands, one column per year
    year: Series[float] = pa.Field(alias=r"^\d{4}$", regex=True, ge=0, nullable=True)

    class Config:
        strict = "filter"
        coerce = True


class UnWup:
    meta: ClassVar[SourceMeta] = SourceMeta(
        source_id="un-wup",
        publisher="United Nations, DESA, Population Division",
        dataset="World Urbanization Prospects 2018, F12: urban agglomerations of 300,000+",
        url="https://population.un.org/wup/",
        licence="CC BY 3.0 IGO",
        attribution="United Nations, DESA, Population Division (2018). World Urbanization "
        "Prospects: The 2018 Revision. CC BY 3.0 IGO.",
    )
    raw_models: ClassVar[dict[str, type[pa.DataFrameModel]]] = {
        "datasets": DatasetTable,
        "agglomerations": AgglomerationRaw,
    }
    urls: ClassVar[dict[str, str]] = {
        F12: f"https://population.un.org/wup/Download/Files/{F12}",
    }

    def extract(self, transport: Transport) -> Extracted:
        return fetch_all(transport, self._urls(), "WUP 2018")

    def _urls(self) -> dict[str, str]:
        return source_urls(self.meta.source_id, self.urls)

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        dataset = Dataset(
            "wup2018-f12", self.meta.dataset, self._urls()[F12], extracted.last_modified.get(F12)
        )
        sheet = pd.read_excel(
            io.BytesIO(extracted.files[F12]),
            sheet_name="Data",
            header=HEADER_ROW,
            engine="calamine",
        )
        sheet = sheet.rename(
            columns={
                "Country Code": "country_code",
                "City Code": "city_code",
                "Urban Agglomeration": "name",
                "Latitude": "latitude",
                "Longitude": "longitude",
            }
        )
        sheet.columns = [str(c) for c in sheet.columns]
        return {"datasets": dataset_frame(self.meta.source_id, [dataset]), "agglomerations": sheet}

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        places = raw["agglomerations"]
        iso2 = registry.countries.dropna(subset=["iso_numeric"]).set_index("iso_numeric")["iso2"]
        records = pd.DataFrame(
            {
                "key": places["city_code"],
                "name": places["name"],
                "country": places["country_code"].map(iso2),
                "latitude": places["latitude"],
                "longitude": places["longitude"],
            }
        )
        verdicts = match_cities(records, registry.cities, registry.aliases)
        verdicts = _one_agglomeration_per_city(verdicts, places)
        matched = verdicts[verdicts["status"] == "matched"]

        years = [c for c in places.columns if c.isdigit()]
        long = places.melt(
            id_vars="city_code", value_vars=years, var_name="period", value_name="thousands"
        ).dropna(subset=["thousands"])
        long = long.merge(matched[["key", "city_id"]], left_on="city_code", right_on="key")
        period = long["period"].astype(int)
        observation = pd.DataFrame(
            {
                "city_id": long["city_id"],
                "indicator_id": "agglomeration_population",
                "period": period,
                "source_id": self.meta.source_id,
                "value": long["thousands"] * 1000.0,
                "flag": period.gt(LAST_ESTIMATE_YEAR).map({True: "f", False: None}),
                "dataset_id": raw["datasets"]["dataset_id"].iloc[0],
            }
        )
        alias = pd.DataFrame(
            {
                "scheme": "un-wup",
                "alias": matched["key"].astype(str),
                "city_id": matched["city_id"],
                "method": matched["method"],
                "confidence": matched["confidence"],
                "source_id": self.meta.source_id,
            }
        )
        unresolved = verdicts[verdicts["status"] != "matched"].merge(
            records[["key", "name"]], on="key"
        )
        return Conformed(
            dataset=raw["datasets"],
            indicator=INDICATOR.assign(source_id=self.meta.source_id),
            observation=observation,
            city_alias=alias,
            unresolved=unresolved[["key", "name", "status", "reason"]],
            notes=[f"{len(matched):,} of {len(places):,} agglomerations resolved to cities"],
        )


def _one_agglomeration_per_city(verdicts: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """Two agglomerations resolving to one city would give it two values for one year: keep
    the most confident (then the larger) and report the other."""
    latest = places.set_index("city_code")[str(LAST_ESTIMATE_YEAR - 3)]
    ordered = verdicts.assign(size=verdicts["key"].map(latest)).sort_values(
        ["confidence", "size"], ascending=False
    )
    taken = (
        ordered["status"].eq("matched") & ordered.duplicated("city_id") & ordered["city_id"].notna()
    )
    first = ordered.drop_duplicates("city_id").set_index("city_id")["key"]
    ordered.loc[taken, "reason"] = (
        "another agglomeration ("
        + ordered.loc[taken, "city_id"].map(first).astype(str)
        + ") already resolves to "
        + ordered.loc[taken, "city_id"]
    )
    ordered.loc[taken, "status"] = "duplicate"
    return ordered.drop(columns="size").sort_index()
