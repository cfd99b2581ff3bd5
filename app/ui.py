"""What every page shares: the published warehouse, freshness and attribution."""

from __future__ import annotations

import os
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st
import vl_convert as vlc

from app import reads
from warehouse import config, spreadsheet_csv
from warehouse.connect import WarehouseUnreadable

# What a city outside the headline's universe is ranked by: every city of the registry has it.
FRAMEWORK = "prominence"
# The Rankings page's default: the project's benchmark (flows/frameworks/world_connectivity.toml;
# flows.scoring.HEADLINE names it for the refresh, which the app does not import).
HEADLINE = "world_connectivity"


def _warehouse() -> Path:
    """The warehouse this app serves. `citybench app` has parsed the config and names it in
    $CITYBENCH_DB; started by hand (`streamlit run`), the app parses the config itself."""
    if "CITYBENCH_DB" in os.environ:
        return config.Config().db().absolute()
    return _configured()


@st.cache_resource(show_spinner=False)
def _configured() -> Path:
    return config.read().db().absolute()


@st.cache_resource(show_spinner=False)
def peer_lists() -> dict[str, list[str]]:
    """The peer lists saved by name under [peers.lists] in the config (as `citybench compare
    --peers NAME` reads them), read once per app process."""
    return dict(config.read().peers.lists)


def published() -> reads.Snapshot | None:
    """The published version, or None (with a message saying what to do) when there is none,
    or when it or the config file cannot be used (one line naming the file, no traceback)."""
    try:
        db = _warehouse()
        snap = reads.snapshot(db)
        if snap is not None:
            reads.verified(snap)
    except (config.ConfigError, WarehouseUnreadable) as error:
        st.error(str(error))
        return None
    if snap is None:
        st.info(f"No published warehouse at `{db}` yet. Run `citybench refresh` to build one, "
                "then reload this page.")
    return snap


def freshness(snap: reads.Snapshot) -> None:
    version = reads.publication(snap)
    if version.empty:
        st.caption("Nothing published yet.")
        return
    row = version.iloc[0]
    sources = reads.sources(snap)
    failed = sources[sources["last_status"] == "failed"]["source_id"].tolist()
    line = (f"Published version {row['version']} · {when(row['published_at'])} · "
            f"{len(sources)} source(s), latest refresh {when(sources['last_success_at'].max())}")
    if failed:
        line += f" · last run failed for {', '.join(failed)} (previous data kept)"
    starter = sources[sources["snapshot"].notna()]
    if len(starter):
        oldest = pd.Timestamp(starter["retrieved_at"].min())
        line += (f" · {', '.join(starter['source_id'])} from the starter snapshot "
                 f"{starter['snapshot'].iloc[0]} (publishers' files retrieved since "
                 f"{oldest:%Y-%m-%d}; see Sources)")
    st.caption(line)


def attribution_footer(snap: reads.Snapshot, framework: str | None = None) -> None:
    texts = reads.attributions(snap, framework)
    if texts:
        st.divider()
        st.caption("Sources: " + " · ".join(texts))


# vl-convert draws a chart as the app does, offline; a chart sized to the page's width
# ("container") has no width of its own, so the export is given the width charts are built at.
_EXPORT_WIDTH = 600


def _spec(figure: alt.TopLevelMixin) -> dict:
    spec = figure.to_dict()
    if spec.get("width") == "container":
        spec["width"] = _EXPORT_WIDTH
    return spec


def chart(figure: alt.TopLevelMixin, table: pd.DataFrame, name: str) -> None:
    """A chart as every page shows one: at the page's width, with the chart as PNG (2x) and
    SVG, and the table behind it as CSV, to download. `name` names the files and keys the
    buttons (unique on the page). The files are made when a button is pressed, not before."""
    st.altair_chart(figure, width="stretch")
    spec = _spec(figure)
    png, svg, csv = st.columns(3, gap="small")
    png.download_button("PNG", lambda: vlc.vegalite_to_png(spec, scale=2), f"{name}.png",
                        "image/png", key=f"{name}-png", on_click="ignore", icon=":material/image:")
    svg.download_button("SVG", lambda: vlc.vegalite_to_svg(spec), f"{name}.svg",
                        "image/svg+xml", key=f"{name}-svg", on_click="ignore",
                        icon=":material/draw:")
    csv.download_button("CSV", lambda: spreadsheet_csv.to_csv(table), f"{name}.csv", "text/csv",
                        key=f"{name}-csv", on_click="ignore", icon=":material/table:")


def table_download(table: pd.DataFrame, name: str, label: str = "CSV") -> None:
    """The raw table behind a view (numbers as numbers, every row), as CSV."""
    st.download_button(label, lambda: spreadsheet_csv.to_csv(table), f"{name}.csv", "text/csv",
                       key=f"{name}-csv", on_click="ignore", icon=":material/table:")


def when(value) -> str:
    if value is None or pd.isna(value):
        return "never"
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC")
