"""Data quality: what the contracts rejected, what the checks flagged for a look, how fresh
each source is. For the analysts who decide whether a figure can be used."""

import altair as alt
import streamlit as st

from app import reads, ui

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
    stale = fresh[fresh["stale"]]["source_id"].tolist()
    st.markdown(
        f"**{int(rejected['rows'].sum()):,}** row(s) rejected in the sources' latest loads · "
        f"**{int(flags['flags'].sum()):,}** value(s) flagged for review · "
        + (f"stale: **{', '.join(stale)}**" if stale else "no source is stale")
    )

    st.subheader("Rejected rows")
    st.caption("Rows that broke a source's contract and were not loaded, in each source's "
               "latest load. A source whose share of rejected rows passes its limit "
               "(5% unless citybench.toml says otherwise) loads nothing and keeps its "
               "previous data.")
    if rejected.empty:
        st.success("No row was rejected.")
    else:
        counts = (rejected.groupby("source_id", as_index=False)["rows"].sum()
                  .sort_values("rows", ascending=False))
        st.altair_chart(
            alt.Chart(counts, title="Rejected rows by source").mark_bar().encode(
                x=alt.X("rows:Q", title="rows rejected", axis=alt.Axis(format="d",
                                                                       tickMinStep=1)),
                y=alt.Y("source_id:N", sort="-x", title=None),
                tooltip=["source_id", "rows"],
            ),
            width="stretch",
        )
        st.dataframe(rejected, hide_index=True, width="stretch", column_config={
            "source_id": "Source", "check_name": "Check", "rows": "Rows",
            "example": "Example"})
        source = st.selectbox("Rejected rows of", counts["source_id"].tolist())
        # the reason names the check; the row's number is its place in the source's frame
        st.dataframe(reads.rejected_rows(snap, source), hide_index=True,
                     width="stretch", column_order=["reason", "column_name", "value",
                                                    "row_number"],
                     column_config={"row_number": "Row", "column_name": "Column",
                                    "value": "Value", "reason": "Reason"})

    st.subheader("Flagged for review")
    st.caption("Loaded values that may well be right but deserve a look: jumps from one "
               "year to the next, outliers among the cities of an indicator and year (robust "
               "z-score), breaks in series the publisher marks, stale data.")
    if flags.empty:
        st.success("Nothing flagged.")
    else:
        st.dataframe(flags, hide_index=True, width="stretch", column_config={
            "source_id": "Source", "check_name": "Check", "flags": "Values",
            "example": "Largest example"})
        check = st.selectbox("Flagged values of the check", sorted(flags["check_name"].unique()))
        st.dataframe(reads.flagged_values(snap, check), hide_index=True,
                     width="stretch", column_config={
                         "source_id": "Source", "city": "City", "country": "Country",
                         "indicator": "Indicator", "dataset_id": "Dataset", "period": "Year",
                         "value": "Value", "detail": "Why"})

    st.subheader("Freshness")
    st.dataframe(fresh, hide_index=True, width="stretch", column_config={
        "source_id": "Source",
        "retrieved_at": st.column_config.DatetimeColumn(
            "Data fetched", format="YYYY-MM-DD HH:mm [UTC]"),
        "age_days": "Age (days)", "cadence_days": "Publisher's cadence (days)",
        "stale": "Stale"})
    ui.attribution_footer(snap)
