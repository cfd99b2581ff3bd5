"""Data quality: what the contracts rejected, what the checks flagged for a look (the highest
priority first), how fresh each source is. For the analysts who decide whether a figure can be
used."""

import textwrap

import altair as alt
import pandas as pd
import streamlit as st

from app import reads, ui
from warehouse.quality import CHECK_ORDER, PRIORITIES

# Drawn at the page's width with the height given to the plot (Streamlit's default, "fit",
# takes the title and legend out of the height and leaves the bars a sliver).
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")

# Okabe-Ito, one colour per check (colour-blind safe)
CHECK_COLOURS = alt.Scale(domain=CHECK_ORDER, range=["#D55E00", "#0072B2", "#E69F00", "#999999"])
PRIORITY_ICONS = {"high": ":red[high]", "medium": ":orange[medium]", "low": ":grey[low]"}
ANY = "(any)"
RIGHT = {"alignment": "right"}


def _as_text(frame: pd.DataFrame, formats: dict[str, str]) -> pd.DataFrame:
    """These columns as text, a missing value as an empty cell: Streamlit draws every missing
    value as 'None', whatever its type. The CSV downloads keep the raw values."""
    return frame.assign(**{column: frame[column].map(
        lambda value, spec=spec: "" if pd.isna(value) else format(value, spec))
        for column, spec in formats.items()})


def _figure(value: float) -> str:
    """A value to 4 significant digits, without an exponent for the large ones."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _credit(version: str) -> list[str]:
    """The subtitle of a chart of the checks' own counts: they are citybench's, of the version."""
    return textwrap.wrap(f"Source: citybench's quality checks, {version}", 60)


def _bar_height(rows: int) -> int:
    return 22 * rows  # about 22 px a bar, so no label overlaps


def _rejected(snap, rejected: pd.DataFrame, version: str) -> None:
    st.subheader("Rejected rows")
    st.caption("Rows that broke a source's contract, and source records no city was found "
               "for ('resolve: ...'), in each source's latest load; none is loaded. Two limits, "
               "each judged on its own: a source whose share of rows rejected by a contract "
               "passes 5% in any of its frames (`[sources.<id>] max_rejected_share`), or whose "
               "share of records with no city passes its stated limit (10%, or the share its "
               "entry in flows/sources/publishers.toml states with the reason, see the README; "
               "`[sources.<id>] max_unresolved_share`), fails: it loads nothing and keeps its "
               "previous data. 'Records with no city' below gives each source's unresolved "
               "share.")
    if rejected.empty:
        st.success("No row was rejected.")
        return
    counts = (rejected.groupby("source_id", as_index=False)["rows"].sum()
              .sort_values("rows", ascending=False))
    figure = alt.Chart(counts).mark_bar(color="#0072B2").encode(
        x=alt.X("rows:Q", title="rows rejected", axis=alt.Axis(format="~s", tickMinStep=1)),
        y=alt.Y("source_id:N", sort="-x", title=None),
        tooltip=[alt.Tooltip("source_id", title="source"),
                 alt.Tooltip("rows:Q", title="rows rejected", format=",")],
    ).properties(title=alt.TitleParams("Rejected rows by source", subtitle=_credit(version),
                                       anchor="start"),
                 width=600, autosize=FIT_WIDTH, height=_bar_height(len(counts)))
    ui.chart(figure, counts, "rejected-by-source")
    st.dataframe(rejected, hide_index=True, width="stretch", column_config={
        "source_id": "Source", "check_name": "Check", "rows": "Rows",
        "example": st.column_config.TextColumn("Example", width="large")})
    source = st.selectbox("Rejected rows of", counts["source_id"].tolist())
    rows = reads.rejected_rows(snap, source)
    # the reason names the check; the row's number is its place in the source's frame
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_order=["reason", "column_name", "value", "row_number"],
                 column_config={"row_number": "Row", "column_name": "Column", "value": "Value",
                                "reason": st.column_config.TextColumn("Reason", width="large")})
    ui.table_download(rows, f"rejected-rows-{source}", f"CSV of its {len(rows):,} rows")


def _priority_counts(priorities: pd.DataFrame, version: str) -> None:
    """How many flags each priority holds, by check, and the rule that sets the priority."""
    by_check = (priorities.groupby(["priority", "check_name"], as_index=False)["flags"].sum())
    totals = by_check.groupby("priority")["flags"].sum()
    columns = st.columns(len(PRIORITIES))
    for column, priority in zip(columns, PRIORITIES, strict=True):
        column.metric(f"{priority.capitalize()} priority", f"{int(totals.get(priority, 0)):,}")
    st.markdown("\n".join(f"- **{PRIORITY_ICONS[p]}**: {rule}" for p, rule in
                          PRIORITIES.items()))
    figure = alt.Chart(by_check).mark_bar().encode(
        x=alt.X("flags:Q", title="values flagged", axis=alt.Axis(format="~s")),
        y=alt.Y("priority:N", sort=list(PRIORITIES), title=None),
        color=alt.Color("check_name:N", scale=CHECK_COLOURS, title="check",
                        legend=alt.Legend(orient="bottom", columns=2)),
        order=alt.Order("check_name:N"),
        tooltip=[alt.Tooltip("priority"), alt.Tooltip("check_name", title="check"),
                 alt.Tooltip("flags:Q", title="values", format=",")],
    ).properties(title=alt.TitleParams("Values flagged, by priority and check",
                                       subtitle=_credit(version), anchor="start"),
                 width=600, autosize=FIT_WIDTH, height=_bar_height(len(PRIORITIES)))
    ui.chart(figure, by_check, "flags-by-priority")


def _choice(label: str, options: list, labels: dict | None = None, key: str | None = None):
    """A filter: ANY, or one of the options (shown by their label)."""
    chosen = st.selectbox(label, [ANY, *options], key=key,
                          format_func=lambda o: (labels or {}).get(o, o))
    return None if chosen == ANY else chosen


def _filtered_flags(snap, priorities: pd.DataFrame) -> None:
    """The flagged values, filtered, highest priority and largest anomaly first."""
    indicators = (priorities.dropna(subset=["indicator_id"])
                  .drop_duplicates("indicator_id").sort_values("indicator"))
    left, middle, right = st.columns(3)
    with left:
        priority = _choice("Priority", list(PRIORITIES), key="flag-priority")
        check = _choice("Check", [c for c in CHECK_ORDER
                                  if c in set(priorities["check_name"])], key="flag-check")
    with middle:
        source = _choice("Source", sorted(priorities["source_id"].unique()), key="flag-source")
        indicator = _choice("Indicator", indicators["indicator_id"].tolist(),
                            dict(zip(indicators["indicator_id"],
                                     indicators["indicator"].fillna(indicators["indicator_id"]),
                                     strict=True)), key="flag-indicator")
    with right:
        city = st.text_input("City name contains", max_chars=100, key="flag-city",
                             placeholder="e.g. Paris").strip()
    flags = reads.flagged_values(snap, priority, source, check, indicator, city or None)
    total = int(priorities["flags"].sum())
    st.caption(f"{len(flags):,} of {total:,} flagged values: the highest priority first, then "
               "by check, the largest anomaly first (a jump's factor, an outlier's |z|).")
    st.dataframe(
        _as_text(flags, {"city": "", "country": "", "indicator": "", "dataset_id": "",
                         "period": ".0f", "factor": ".2f", "z": ".1f"})
        # as object first: a column of missing values only would be float, not text
        .assign(value=flags["value"].map(_figure, na_action="ignore").astype(object).fillna(""),
                before=flags["before"].map(_figure, na_action="ignore").astype(object)
                .fillna("")),
        hide_index=True, width="stretch",
        column_order=["priority", "check_name", "city", "country", "indicator", "period",
                      "value", "before", "factor", "z", "detail", "source_id", "dataset_id"],
        column_config={
            "priority": "Priority", "check_name": "Check", "source_id": "Source",
            "city": "City", "country": "Country",
            "indicator": st.column_config.TextColumn("Indicator", width="medium"),
            "dataset_id": "Dataset", "period": st.column_config.TextColumn("Year", **RIGHT),
            "value": st.column_config.TextColumn("Value", **RIGHT),
            "before": st.column_config.TextColumn("Year before", **RIGHT),
            "factor": st.column_config.TextColumn(
                "Factor", help="A jump's larger value over the smaller", **RIGHT),
            "z": st.column_config.TextColumn("Robust z", **RIGHT),
            "detail": st.column_config.TextColumn("Why", width="large"),
        })
    label = f"CSV of these {len(flags):,} values"
    ui.table_download(flags, "flagged-values", label)
    if len(flags) < total:
        ui.table_download(reads.flagged_values(snap), "flagged-values-all",
                          f"CSV of all {total:,} flagged values")


def _flags(snap, flags: pd.DataFrame, priorities: pd.DataFrame, version: str) -> None:
    st.subheader("Flagged for review")
    st.caption("Loaded values that may well be right but deserve a look: jumps from one "
               "year to the next, outliers among the cities of an indicator and year (robust "
               "z-score), breaks in series the publisher marks, stale data. Each has a "
               "priority, by the rule below.")
    if flags.empty:
        st.success("Nothing flagged.")
        return
    st.dataframe(flags, hide_index=True, width="stretch", column_config={
        "source_id": "Source", "check_name": "Check", "flags": "Values",
        "example": st.column_config.TextColumn("Largest example", width="large")})
    _priority_counts(priorities, version)
    _filtered_flags(snap, priorities)


def _unresolved_shares(sources: pd.DataFrame) -> None:
    """Per source, the records of its last load that no city was found for."""
    judged = sources[sources["records_to_resolve"].fillna(0) > 0]
    if judged.empty:
        return
    st.subheader("Records with no city")
    st.caption("Of the records each source's last load tried to tie to a city, those no city "
               "was found for (not loaded): judged against the source's max_unresolved_share.")
    st.dataframe(
        judged.assign(share=judged["records_unresolved"] / judged["records_to_resolve"])[
            ["source_id", "records_unresolved", "records_to_resolve", "share"]],
        hide_index=True, width="stretch", column_config={
            "source_id": "Source", "records_unresolved": "Records with no city",
            "records_to_resolve": "Records read",
            "share": st.column_config.NumberColumn("Unresolved", format="percent")})


def _freshness(fresh: pd.DataFrame) -> None:
    st.subheader("Freshness")
    st.caption("When the refresh read each source, how old its data is (days since its "
               "publisher last changed it: since it froze the data, else its latest update, "
               "else its files' date), and why the refresh that published this version found "
               "it stale.")
    shown = _as_text(fresh, {"stale_reason": "", "vintage": "", "frozen_since": "",
                             "read_at": "%Y-%m-%d %H:%M UTC", "publisher_update": "%Y-%m-%d",
                             "retrieved_at": "%Y-%m-%d", "cadence_days": ",.0f",
                             "age_days": ",.0f"})
    text = st.column_config.TextColumn
    st.dataframe(shown, hide_index=True, width="stretch", column_order=[
        "source_id", "stale", "stale_reason", "age_days", "read_at", "publisher_update",
        "retrieved_at", "cadence_days", "frozen_since", "vintage"], column_config={
        "source_id": "Source", "stale": "Stale",
        "stale_reason": text("Why stale", width="large"),
        "age_days": text("Data age (days)", **RIGHT),
        "read_at": "Read by the refresh", "publisher_update": "Publisher's last update",
        "retrieved_at": "Publisher's files dated",
        "cadence_days": text("Publisher's cadence (days)", **RIGHT),
        "frozen_since": "Frozen by its publisher since",
        "vintage": text("Vintage", width="large")})
    ui.table_download(fresh, "freshness")


st.title("Data quality")
snap = ui.published()
if snap is not None:
    ui.freshness(snap)
    summary = reads.quality_summary(snap)
    if summary is None:
        st.info("This version was published before the quality checks existed: run "
                "`citybench refresh` to check it.")
        st.stop()
    rejected, flags, fresh = summary["rejected"], summary["flags"], summary["freshness"]
    priorities = summary["priorities"]
    published = reads.publication(snap)
    version = (f"published version {published['version'].iloc[0]}" if len(published)
               else "this warehouse")
    stale = fresh[fresh["stale"]]["source_id"].tolist()
    high = int(priorities.loc[priorities["priority"] == "high", "flags"].sum())
    st.markdown(
        f"**{int(rejected['rows'].sum()):,}** row(s) rejected in the sources' latest loads · "
        f"**{int(flags['flags'].sum()):,}** value(s) flagged for review, **{high:,}** of high "
        "priority · " + (f"stale: **{', '.join(stale)}**" if stale else "no source is stale")
    )
    _rejected(snap, rejected, version)
    _flags(snap, flags, priorities, version)
    _unresolved_shares(reads.sources(snap))
    _freshness(fresh)
    ui.attribution_footer(snap)
