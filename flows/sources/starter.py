"""Publishers' data as the starter snapshot packaged with citybench holds it: the offline default.

The snapshot (flows/starter, built by `citybench snapshot`, flows/snapshot.py) holds what each
publisher's own source loaded from the publisher's files: rows already parsed, checked and
matched to cities. A `Starter` reads one publisher's part and loads it under that source's id,
checked against the warehouse's contracts again and marked as the snapshot's
(`source.snapshot`), so that `citybench status` and the app can say so. Reading the publisher
later (`citybench refresh --source openflights`) replaces exactly those rows.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from importlib import resources
from importlib.resources.abc import Traversable

import pandas as pd
import pyarrow.parquet as parquet

from flows.sources.base import Conformed, Extracted, Registry, Source
from flows.sources.publishers import publisher_of
from flows.transport import Transport
from warehouse.schemas import DatasetTable
from warehouse.tables import LOADED

STARTER = "starter"  # what the offline default is called in [refresh] sources and --source
FOLDER: Traversable = resources.files("flows") / "starter"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Part:
    """One publisher's part of the snapshot, as the manifest describes it."""

    source_id: str
    vintage: str  # the publisher's version of the data, in words
    retrieved: date  # when the publisher's files were fetched (their PROVENANCE.md)
    tables: tuple[str, ...]


def manifest() -> dict:
    return json.loads((FOLDER / MANIFEST).read_text(encoding="utf-8"))


def parts() -> list[Part]:
    """The snapshot's parts, in the order a refresh loads them (the registry first)."""
    return [Part(part["source_id"], part["vintage"], date.fromisoformat(part["retrieved"]),
                 tuple(part["tables"]))
            for part in manifest()["sources"]]


class Starter(Source):
    raw_models = {}

    def __init__(self, part: Part) -> None:
        self.meta = publisher_of(part.source_id)
        self.part = part
        super().__init__()

    def raw_contracts(self) -> dict:
        # the rows are canonical already: each table is checked by its own contract here, and
        # against the warehouse's cities and indicators when the load validates them again
        return {"datasets": DatasetTable,
                **{table: LOADED[table].model for table in self.part.tables if table != "dataset"}}

    def extract(self, transport: Transport) -> Extracted:
        folder = FOLDER / self.part.source_id
        return Extracted(
            files={table: (folder / f"{table}.parquet").read_bytes() for table in self.part.tables},
            dataset_version=self.part.vintage,
            retrieved_at=datetime.combine(self.part.retrieved, time(), UTC),
            snapshot=manifest()["version"],
        )

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        frames = {table: parquet.read_table(io.BytesIO(content)).to_pandas()
                  for table, content in extracted.files.items()}
        frames["datasets"] = frames.pop("dataset")
        return frames

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        return Conformed(dataset=raw["datasets"],
                         **{table: raw[table] for table in self.part.tables if table != "dataset"})


def starter_sources() -> list[Starter]:
    return [Starter(part) for part in parts()]
