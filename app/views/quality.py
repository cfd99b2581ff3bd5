"""Data quality: what the contracts rejected, what the checks flagged for a look, how fresh
each source is. For the analysts who decide whether a figure can be used."""

import altair as alt
import streamlit as st

from app import reads, ui


def _unresolved_shares(sources) -> None:
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

    _unresolved_shares(reads.sources(snap))

    st.subheader("Freshness")
    st.dataframe(fresh, hide_index=True, width="stretch", column_config={
        "source_id": "Source",
        "retrieved_at": st.column_config.DatetimeColumn(
            "Data fetched", format="YYYY-MM-DD HH:mm [UTC]"),
        "age_days": "Age (days)", "cadence_days": "Publisher's cadence (days)",
        "frozen_since": "No longer updated since", "stale": "Stale"})
    ui.attribution_footer(snap)
