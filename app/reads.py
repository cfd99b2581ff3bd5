"""The app's reads of the published warehouse: each read of the read model
(warehouse/read_model.py), typed, with a cache of its own per published version and arguments.

A version is identified by (path, inode, mtime): a refresh that publishes replaces the file,
which gives it a new inode, so the next rerun reads the new version and an unchanged one
costs no query. Each render takes its snapshot once, with the version number the file holds,
and every read of the render is pinned to that number (warehouse.connect.pinned): a refresh
publishing mid-render does not give the rest of the page another version's data.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, NamedTuple, ParamSpec, TypeVar

import streamlit as st

from app import city_compare, lookup
from warehouse import explore, exports, read_model
from warehouse import rankings as ranking_model  # `rankings` below is a read
from warehouse.connect import Pin, VersionGone, identity, pinned, verify, version_at
from warehouse.publish import kept_path

P = ParamSpec("P")
R = TypeVar("R")


class Snapshot(NamedTuple):
    """One published version of the warehouse file."""

    path: Path
    inode: int
    mtime_ns: int
    version: int | None  # its publication number, which every read of the render must see


# the number a file holds, read once per file (a published file is never changed in place)
_version_at = st.cache_data(show_spinner=False, max_entries=16)(version_at)


def snapshot(db: Path) -> Snapshot | None:
    """The version published at `db` now, or None when there is no file."""
    while True:
        try:
            inode, mtime_ns = identity(db)
        except FileNotFoundError:
            return None
        try:
            return Snapshot(db, inode, mtime_ns, _version_at(db, inode, mtime_ns))
        except VersionGone:  # replaced while its number was read: take the new file
            continue


def _pin(snap: Snapshot) -> Pin:
    kept = None if snap.version is None else kept_path(snap.path, snap.version)
    return Pin(snap.path, snap.version, kept)


def _of_version(read: Callable[Concatenate[Path, P], R]) -> Callable[Concatenate[Snapshot, P], R]:
    """`read(db, ...)` as a read of one published version, cached under the read's own name
    (Streamlit keys a cache by the function's module, name and source: those of `read`)."""

    def on_version(snap: Snapshot, *args: P.args, **kwargs: P.kwargs) -> R:
        with pinned(_pin(snap)):
            return read(snap.path, *args, **kwargs)

    cached = st.cache_data(show_spinner=False, max_entries=64)(functools.wraps(read)(on_version))

    @functools.wraps(read)
    def of_one_version(snap: Snapshot, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return cached(snap, *args, **kwargs)
        except VersionGone:  # replaced and not kept (keep_versions = 1): the whole render
            st.rerun()  # again, on the version published now, rather than a page of two

    return of_one_version


verified = _of_version(verify)  # raises WarehouseUnreadable for a broken file
publication = _of_version(read_model.publication)
sources = _of_version(read_model.sources)
populations = _of_version(read_model.populations)
datasets = _of_version(read_model.datasets)
loads = _of_version(read_model.loads)
attributions = _of_version(read_model.attributions)
quality_summary = _of_version(read_model.quality_summary)
rejected_rows = _of_version(read_model.rejected_rows)
flagged_values = _of_version(read_model.flagged_values)
frameworks = _of_version(read_model.frameworks)
methodology = _of_version(read_model.methodology)
ranking_run = _of_version(ranking_model.run_files)
ranking_scores = _of_version(ranking_model.scores)
search_cities = _of_version(read_model.search_cities)
city_matches = _of_version(lookup.city_matches)
tables = _of_version(exports.tables)
city = _of_version(read_model.city)
profile = _of_version(read_model.profile)
network_measures = _of_version(read_model.network_measures)
network_reach = _of_version(read_model.network_reach)
air_partners = _of_version(read_model.air_partners)
city_series = _of_version(read_model.city_series)
attributions_of = _of_version(read_model.attributions_of)
city_peers = _of_version(city_compare.city_peers)
context_profile = _of_version(city_compare.context_profile)
city_practices = _of_version(read_model.city_practices)
indicator_catalogue = _of_version(explore.indicators)
indicator_summary = _of_version(explore.summary)
indicator_values = _of_version(explore.values)
indicator_pair = _of_version(explore.pair)
indicator_series = _of_version(explore.series)
network_measure_list = _of_version(explore.network_measure_list)
network_ranking = _of_version(explore.network_ranking)
link_kinds = _of_version(explore.link_kinds)
dyads = _of_version(explore.dyads)
city_links = _of_version(explore.city_links)
city_networks = _of_version(explore.city_networks)
network_members = _of_version(explore.network_members)
