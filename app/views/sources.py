"""Sources and freshness: what each source holds, when the refresh read it, how old its data
is and why it is stale, what failed and why."""

import textwrap

import altair as alt
import pandas as pd
import streamlit as st

from app import reads, ui

# Drawn at the page's width with the height given to the plot (Streamlit's default, "fit",
# takes the title and legend out of the height and leaves the bars a sliver).
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")

WHEN = st.column_config.DatetimeColumn
RIGHT = {"alignment": "right"}
# Okabe-Ito: a source whose last run failed stands out without relying on red and green alone
STATUS_COLOURS = alt.Scale(domain=["success", "failed"], range=["#0072B2", "#D55E00"])


def _as_text(frame: pd.DataFrame, formats: dict[str, str]) -> pd.DataFrame:
    """These columns as text, a missing value as an empty cell: Streamlit draws every missing
    value as 'None', whatever its type. The CSV downloads keep the raw values."""
    return frame.assign(**{column: frame[column].map(
        lambda value, spec=spec: "" if pd.isna(value) else format(value, spec))
        for column, spec in formats.items()})


def _given(text) -> bool:
    return isinstance(text, str) and bool(text)


def _status_line(row) -> str:
    # Material icons ship with Streamlit; emoji need a font the viewer may lack.
    status = {"success": ":green[:material/check_circle: loaded]",
              "failed": ":red[:material/error: last run failed]"}.get(
        row.last_status, ":grey[:material/help: no load recorded]")
    unresolved = ""
    if pd.notna(row.records_to_resolve) and row.records_to_resolve > 0:
        unresolved = (f" · {int(row.records_unresolved):,} of "
                      f"{int(row.records_to_resolve):,} records not tied to a city "
                      f"({row.records_unresolved / row.records_to_resolve:.1%})")
    return (f"{status} · last successful refresh {ui.when(row.last_success_at)} · "
            f"rows held: {int(row.rows_held):,} (observations, memberships and links, as "
            f"`citybench status` counts them) · rows rejected in the last run: "
            f"{0 if pd.isna(row.rows_rejected) else int(row.rows_rejected):,}" + unresolved)


def _day(value) -> str:
    return "unknown" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


def _freshness_line(fresh) -> str:
    """When the refresh read the data, the publisher's dates, the data's age and, if stale,
    why (fresh: the source's row of warehouse/quality.py freshness)."""
    line = (f"Read by the refresh {ui.when(fresh.read_at)} · publisher's last update "
            f"{_day(fresh.publisher_update)} · files dated {_day(fresh.retrieved_at)} · data "
            f"{int(fresh.age_days):,} days old")
    if fresh.stale:
        line += f" · :orange[:material/schedule: stale: {fresh.stale_reason}]"
    return line


def _source_card(row, fresh) -> None:
    with st.container(border=True):
        # a source whose first load failed has no `source` row: no URL, snapshot or credit
        where = f" · {row.licence} · [{row.url}]({row.url})" if _given(row.url) else ""
        st.markdown(f"**{row.publisher}**: {row.dataset}  \n`{row.source_id}`{where}")
        st.markdown(_status_line(row))
        if fresh is not None:
            st.markdown(_freshness_line(fresh))
        if isinstance(row.frozen_since, str):
            st.warning(f"Not updated by its publisher since {row.frozen_since}: every "
                       "value is at least that old, whenever it was fetched.",
                       icon=":material/history:")
        elif pd.notna(row.cadence_days):
            st.caption(f"The publisher updates this about every {int(row.cadence_days):,} "
                       "days: older data is flagged stale.")
        if _given(row.snapshot):
            st.info(f"From the starter snapshot {row.snapshot} packaged with citybench: "
                    f"{row.dataset_version}, the publisher's files as retrieved on "
                    f"{row.retrieved_at:%Y-%m-%d}. A refresh of `{row.source_id}` reads "
                    "the publisher.", icon=":material/inventory_2:")
        if row.last_status == "failed":
            st.error(f"Last run failed: {row.last_error}")
        if _given(row.attribution):
            st.caption(f"Attribution: {row.attribution}")


def _held_chart(sources: pd.DataFrame, version: str) -> None:
    """Rows held per source: what each source contributes now."""
    held = sources[["source_id", "rows_held", "last_status"]].sort_values(
        "rows_held", ascending=False)
    figure = alt.Chart(held).mark_bar().encode(
        x=alt.X("rows_held:Q", title="rows held (observations, memberships, links)",
                axis=alt.Axis(format="~s")),
        y=alt.Y("source_id:N", sort="-x", title=None),
        color=alt.Color("last_status:N", scale=STATUS_COLOURS, title="last run",
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("source_id", title="source"),
                 alt.Tooltip("rows_held:Q", title="rows held", format=","),
                 alt.Tooltip("last_status", title="last run")],
    ).properties(
        title=alt.TitleParams("Rows held by source", anchor="start", subtitle=textwrap.wrap(
            f"Source: citybench's load records of {version}", 60)),
        width=600, autosize=FIT_WIDTH, height=22 * len(held))  # 22 px a bar
    ui.chart(figure, held, "rows-held-by-source")


def _datasets(snap) -> None:
    st.subheader("Datasets")
    st.caption("Where every value comes from: each observation names its dataset.")
    datasets = reads.datasets(snap)
    st.dataframe(
        _as_text(datasets, {"title": "", "url": "", "last_update": "",
                            "retrieved_at": "%Y-%m-%d %H:%M UTC"}),
        hide_index=True, width="stretch",
        column_config={
            "source_id": "Source", "dataset_id": "Dataset",
            "title": st.column_config.TextColumn("Title", width="medium"),
            "url": st.column_config.LinkColumn("URL"),
            "last_update": "Publisher's last update",
            "retrieved_at": "Files dated",
            "rows_held": st.column_config.NumberColumn("Rows held", format="localized"),
        },
    )
    ui.table_download(datasets, "datasets")


def _loads(snap) -> None:
    st.subheader("Loads")
    st.caption("Every load, newest first. A failed load loads nothing and keeps the source's "
               "previous rows: 'Rows held after' is empty for it; 'Rows read' counts the rows "
               "its raw frames held, when it got as far as reading them.")
    loads = reads.loads(snap)
    st.dataframe(
        _as_text(loads, {"error": "", "publisher": "", "rows_loaded": ",.0f",
                         "finished_at": "%Y-%m-%d %H:%M UTC"}),
        hide_index=True, width="stretch",
        # the error next to the status, wide enough to be read; in full below
        column_order=["load_id", "source_id", "status", "error", "started_at", "finished_at",
                      "rows_read", "rows_loaded", "rows_changed", "rows_rejected"],
        column_config={
            "load_id": st.column_config.NumberColumn("Load", format="%d"), "source_id": "Source",
            "started_at": WHEN("Started", format="YYYY-MM-DD HH:mm [UTC]"),
            "finished_at": "Finished",
            "status": "Status", "error": st.column_config.TextColumn("Error", width="large"),
            "rows_read": st.column_config.NumberColumn("Rows read", format="localized"),
            "rows_loaded": st.column_config.TextColumn("Rows held after", **RIGHT),
            "rows_changed": st.column_config.NumberColumn("Rows changed", format="localized"),
            "rows_rejected": st.column_config.NumberColumn("Rows rejected", format="localized"),
        },
    )
    ui.table_download(loads, "loads")
    failed = loads[loads["status"] == "failed"]
    if len(failed):
        st.markdown("**The failed loads' errors, in full**\n\n" + "\n".join(
            f"- Load {row.load_id}, `{row.source_id}`, {ui.when(row.started_at)}: "
            f"{row.error or 'no reason recorded'}" for row in failed.itertuples()))

st.title("Sources and freshness")
snap = ui.published()
if snap is not None:
    ui.freshness(snap)
    sources = reads.sources(snap)
    summary = reads.quality_summary(snap)
    fresh = None if summary is None else summary["freshness"].set_index("source_id")
    for row in sources.itertuples():
        known = fresh is not None and row.source_id in fresh.index
        _source_card(row, fresh.loc[row.source_id] if known else None)
    published = reads.publication(snap)
    _held_chart(sources, f"published version {published['version'].iloc[0]}" if len(published)
                else "this warehouse")
    _datasets(snap)
    _loads(snap)
