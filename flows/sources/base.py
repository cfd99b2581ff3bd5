"""The small interface every source implements, and the frames it hands to the warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

import pandas as pd
import pandera.pandas as pa


@dataclass(frozen=True)
class SourceMeta:
    source_id: str
    publisher: str
    dataset: str
    url: str
    licence: str
    attribution: str

    def as_row(self, dataset_version: str | None, retrieved_at: datetime) -> pd.DataFrame:
        return pd.DataFrame(
            [{**self.__dict__, "dataset_version": dataset_version, "retrieved_at": retrieved_at}]
        )


@dataclass(frozen=True)
class Extracted:
    """The bytes a source fetched, by file name, and what is known about their vintage."""

    files: dict[str, bytes]
    dataset_version: str | None
    retrieved_at: datetime


@dataclass
class Conformed:
    """A source's data in the canonical model, one frame per warehouse table it writes.

    Registry sources (the city list itself) also fill city, country and city_alias.
    """

    indicator: pd.DataFrame
    observation: pd.DataFrame
    city: pd.DataFrame | None = None
    country: pd.DataFrame | None = None
    city_alias: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


class Source(Protocol):
    meta: ClassVar[SourceMeta]
    # pandera models of the raw frames parse() returns, by frame name
    raw_models: ClassVar[dict[str, type[pa.DataFrameModel]]]

    def extract(self) -> Extracted: ...

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]: ...

    def conform(self, raw: dict[str, pd.DataFrame]) -> Conformed: ...
