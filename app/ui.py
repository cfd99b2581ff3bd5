"""What every page shares: the published warehouse, cached reads, freshness and attribution.

Reads are cached per published version (path, inode, mtime): a refresh that publishes a new
version is picked up on the next rerun, and an unchanged one costs no query.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import data
from warehouse.location import resolve_db

FRAMEWORK = "prominence"


def published() -> data.Snapshot | None:
    """The published version, or None (with a message saying what to do) when there is none."""
    db = resolve_db().absolute()
    snap = data.snapshot(db)
    if snap is None:
        st.info(f"No published warehouse at `{db}` yet. Run `citybench refresh` to build one, "
                "then reload this page.")
    return snap


@st.cache_data(show_spinner=False, max_entries=256)
def read(snap: data.Snapshot, name: str, *args, **kwargs):
    """Call `app.data.<name>` on this version of the warehouse, once per version and arguments."""
    return getattr(data, name)(snap.path, *args, **kwargs)


def freshness(snap: data.Snapshot) -> None:
    version = read(snap, "publication")
    if version.empty:
        st.caption("Nothing published yet.")
        return
    row = version.iloc[0]
    sources = read(snap, "sources")
    failed = sources[sources["last_status"] == "failed"]["source_id"].tolist()
    line = (f"Published version {row['version']} · {when(row['published_at'])} · "
            f"{len(sources)} source(s), latest refresh {when(sources['last_success_at'].max())}")
    if failed:
        line += f" · last run failed for {', '.join(failed)} (previous data kept)"
    st.caption(line)


def attribution_footer(snap: data.Snapshot, framework: str | None = None) -> None:
    texts = read(snap, "attributions", framework)
    if texts:
        st.divider()
        st.caption("Sources: " + " · ".join(texts))


def when(value) -> str:
    if value is None or pd.isna(value):
        return "never"
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC")

