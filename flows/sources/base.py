"""The small interface every source implements, and the frames it hands to the warehouse."""

from __future__ import annotations

import contextlib
import email.utils
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urlsplit

import pandas as pd
import pandera.pandas as pa

from flows.transport import FetchFailed, Transport, is_url
from warehouse import checks  # noqa: F401  (registers str_fullmatch for the sources' models)
from warehouse.config import ConfigError, SourceSettings
from warehouse.parse_error import ParseError as ParseError  # what every source raises
from warehouse.redact import redact_url
from warehouse.registry import Registry as Registry  # what a source's records resolve against
from warehouse.schemas import DatasetTable


@dataclass(frozen=True)
class SourceMeta:
    source_id: str
    publisher: str
    dataset: str
    url: str
    licence: str
    attribution: str
    # how often the publisher updates the data, in days; None: no regular cadence (a frozen
    # dataset such as OpenFlights' routes, a package, the users' own files)
    cadence_days: int | None = None
    # when the publisher last updated a dataset it no longer updates ("2014-06"): its age is
    # judged from then, and the app says so wherever its values are shown
    frozen_since: str | None = None
    # the share of its records the source may leave unresolved (no city found), where it is
    # not the default (warehouse/config.py DEFAULT_MAX_UNRESOLVED_SHARE): stated with a reason
    max_unresolved_share: float | None = None

    def as_row(self, extracted: Extracted) -> pd.DataFrame:
        return pd.DataFrame([{**self.__dict__, "dataset_version": extracted.dataset_version,
                              "retrieved_at": extracted.retrieved_at,
                              "snapshot": extracted.snapshot}])


@dataclass(frozen=True)
class Extracted:
    """The bytes a source fetched, by file name, and what is known about their vintage."""

    files: dict[str, bytes]
    dataset_version: str | None
    retrieved_at: datetime
    # per file, the publisher's Last-Modified where the server stated one
    last_modified: dict[str, str] = field(default_factory=dict)
    snapshot: str | None = None  # the starter snapshot's version, when read from it

    def stated_year(self, *files: str) -> int:
        """The year files describe when their publisher dates them no other way: the latest
        Last-Modified stated for them (for any file, when none is named), else the year they
        were fetched."""
        years = []
        for file in files or self.last_modified:
            # no header, or an unreadable one, says nothing; the fetch date holds
            with contextlib.suppress(KeyError, TypeError, ValueError):
                years.append(email.utils.parsedate_to_datetime(self.last_modified[file]).year)
        return max(years, default=self.retrieved_at.year)


def fetch_all(
    transport: Transport, urls: dict[str, str], dataset_version: str | None = None
) -> Extracted:
    """Fetch every file a source needs through the one transport (HTTP or a mirror)."""
    fetched = {name: transport.get(url) for name, url in urls.items()}
    stated = sorted(f.last_modified for f in fetched.values() if f.last_modified)
    return Extracted(
        files={name: f.content for name, f in fetched.items()},
        dataset_version=dataset_version or (f"last modified {stated[-1]}" if stated else None),
        retrieved_at=min(f.retrieved_at for f in fetched.values()),
        last_modified={name: f.last_modified for name, f in fetched.items() if f.last_modified},
    )


def fetch_listed(transport: Transport, entries: list[str], settings: SourceSettings,
                 key: str) -> Extracted:
    """Files a user lists in the config file ([sources.<id>] `key`), by the name each is shown
    under: a URL fetched through the transport and named redacted (no credential reaches a
    dataset, message or log), a path read from disk, relative to the config file."""
    files, stated, retrieved = {}, {}, []
    for entry in entries:
        if is_url(entry):
            fetched, name = transport.get(entry), listed_name(entry)
            files[name] = fetched.content
            retrieved.append(fetched.retrieved_at)
            if fetched.last_modified:
                stated[name] = fetched.last_modified
            continue
        path = settings.folder / entry
        if not path.is_file():
            raise FetchFailed(f"{path}: no such file (listed in {settings.file} {key})")
        files[entry] = path.read_bytes()
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        stated[entry] = modified.isoformat(timespec="seconds")
        retrieved.append(modified)
    return Extracted(files=files, dataset_version=f"{len(files)} file(s)",
                     retrieved_at=min(retrieved, default=datetime.now(UTC)),
                     last_modified=stated)


def listed_name(entry: str) -> str:
    """The name a listed file is shown under: its path, or its URL redacted."""
    return redact_url(entry) if is_url(entry) else entry


def listed_location(entry: str, settings: SourceSettings) -> str:
    """Where a listed file is, as a dataset records it: its URL (redacted), or its file URI."""
    if is_url(entry):
        return redact_url(entry)
    return (settings.folder / entry).resolve().as_uri()


@dataclass(frozen=True)
class Dataset:
    """One dataset of a source, as observations name it (their dataset_id)."""

    dataset_id: str
    title: str
    url: str
    last_update: str | None = None  # as the publisher states it


def dataset_frame(source_id: str, datasets: list[Dataset]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"source_id": source_id, **d.__dict__} for d in datasets],
        columns=["source_id", "dataset_id", "title", "url", "last_update"],
    )


@dataclass
class Conformed:
    """A source's data in the canonical model, one frame per warehouse table it writes.

    Every source names its datasets (`dataset`, see dataset_frame); each observation,
    membership and link row carries the dataset_id it came from. Registry sources (the city
    list itself) also fill city, country and city_alias. Relational sources fill network and
    membership (organisations and their cities) or city_link (air routes, twinning); users'
    files may also fill practice (practices and lessons, flows/sources/practices.py). Records
    that could not be tied to a city go to `unresolved` (key, name, status, reason).
    """

    dataset: pd.DataFrame
    indicator: pd.DataFrame | None = None
    observation: pd.DataFrame | None = None
    network: pd.DataFrame | None = None
    membership: pd.DataFrame | None = None
    city_link: pd.DataFrame | None = None
    practice: pd.DataFrame | None = None
    city: pd.DataFrame | None = None
    country: pd.DataFrame | None = None
    city_alias: pd.DataFrame | None = None
    unresolved: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    # how many source records the conform tried to tie to a city, where its frames do not say
    # it (None: the rows of its largest raw frame): the denominator of the unresolved share
    records: int | None = None


class Source(ABC):
    """A publisher's data: what it fetches, how it parses the bytes into raw frames (each
    checked by its model in `raw_models`), and how it conforms them to the canonical model.

    A source is made with its table of the config file ([sources.<id>], a `Settings`); the
    URLs of its files are the publisher's (`urls`), each of which the settings may point
    elsewhere ([sources.<id>.urls]).
    """

    meta: ClassVar[SourceMeta]
    # pandera models of the raw frames parse() returns besides "datasets", by frame name
    raw_models: ClassVar[dict[str, type[pa.DataFrameModel]]]
    # the columns that name a rejected raw row, by frame (default: its position)
    raw_identify: ClassVar[dict[str, list[str]]] = {}
    # the publisher's files: the source's name for a file -> its URL
    urls: dict[str, str] = {}
    # the names a downloaded file goes by, where not its URL's last segment (or where the
    # publisher offers another format the source reads too): how `citybench mirror` finds it
    published_as: ClassVar[dict[str, tuple[str, ...]]] = {}
    Settings: ClassVar[type[SourceSettings]] = SourceSettings

    @classmethod
    def raw_contracts(cls) -> dict[str, type[pa.DataFrameModel]]:
        """Every raw frame's model: each source lists its datasets in the frame "datasets",
        checked by the warehouse's own contract of the table."""
        return {"datasets": DatasetTable, **cls.raw_models}

    def __init__(self, settings: SourceSettings | None = None) -> None:
        self.settings = self.Settings() if settings is None else settings
        publishers = type(self).urls
        if unknown := sorted(set(self.settings.urls) - set(publishers)):
            raise ConfigError(
                f"[sources.{self.meta.source_id}.urls] {unknown[0]}: unknown file; known: "
                f"{', '.join(publishers) or 'none'}")
        self.urls = {**publishers, **self.settings.urls}

    def file_names(self) -> dict[str, tuple[str, ...]]:
        """Per file the source reads, the names a user's copy of it may have."""
        return {name: self.published_as.get(name, (urlsplit(url).path.rsplit("/", 1)[-1],))
                for name, url in self.urls.items()}

    def extract(self, transport: Transport) -> Extracted:
        """Fetch every file through the one transport (HTTP or a mirror)."""
        return fetch_all(transport, self.urls)

    def dataset(self, extracted: Extracted, file: str, title: str, dataset_id: str | None = None,
                last_update: str | None = None) -> Dataset:
        """The dataset one of the source's files holds (`file`: the source's name for it): its
        URL, and the publisher's last update, as the file states it, else as the server did."""
        return Dataset(dataset_id or file, title, self.urls[file],
                       last_update or extracted.last_modified.get(file))

    def datasets_frame(self, datasets: list[Dataset]) -> pd.DataFrame:
        """The frame "datasets" every parse returns."""
        return dataset_frame(self.meta.source_id, datasets)

    def conformed(self, raw: dict[str, pd.DataFrame], indicator: pd.DataFrame | None = None,
                  **frames) -> Conformed:
        """What a conform returns: the datasets its parse named, the indicators it defines
        (stamped with the source's id), and its other canonical frames (of the records it
        could not tie to a city, the columns the load reports)."""
        if indicator is not None:
            indicator = indicator.assign(source_id=self.meta.source_id)
        if frames.get("unresolved") is not None:
            frames["unresolved"] = frames["unresolved"][["key", "name", "status", "reason"]]
        return Conformed(dataset=raw["datasets"], indicator=indicator, **frames)

    @abstractmethod
    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]: ...

    @abstractmethod
    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed: ...
