"""Sources and freshness: what each source holds, when it was refreshed, what failed and why."""

import pandas as pd
import streamlit as st

from app import reads, ui

st.title("Sources and freshness")
snap = ui.published()
if snap is not None:
    ui.freshness(snap)
    sources = reads.sources(snap)
    for row in sources.itertuples():
        with st.container(border=True):
            where = f" · {row.licence} · [{row.url}]({row.url})" if row.url else ""
            st.markdown(f"**{row.publisher}**: {row.dataset}  \n`{row.source_id}`{where}")
            # Material icons ship with Streamlit; emoji need a font the viewer may lack.
            status = (":green[:material/check_circle: loaded]" if row.last_status == "success"
                      else ":red[:material/error: last run failed]")
            unresolved = ""
            if pd.notna(row.records_to_resolve) and row.records_to_resolve > 0:
                unresolved = (f" · {int(row.records_unresolved):,} of "
                              f"{int(row.records_to_resolve):,} records not tied to a city "
                              f"({row.records_unresolved / row.records_to_resolve:.1%})")
            st.markdown(f"{status} · last successful refresh {ui.when(row.last_success_at)} · "
                        f"observations, memberships and links held: "
                        f"{int(row.rows_loaded or 0):,} · "
                        f"rows rejected in the last run: {int(row.rows_rejected or 0):,}"
                        + unresolved)
            if isinstance(row.frozen_since, str):
                st.warning(f"Not updated by its publisher since {row.frozen_since}: every "
                           "value is at least that old, whenever it was fetched.",
                           icon=":material/history:")
            elif pd.notna(row.cadence_days):
                st.caption(f"The publisher updates this about every {int(row.cadence_days):,} "
                           "days: older data is flagged stale.")
            if row.snapshot:
                st.info(f"From the starter snapshot {row.snapshot} packaged with citybench: "
                        f"{row.dataset_version}, the publisher's files as retrieved on "
                        f"{row.retrieved_at:%Y-%m-%d}. A refresh of `{row.source_id}` reads "
                        "the publisher.", icon=":material/inventory_2:")
            if row.last_status == "failed":
                st.error(f"Last run failed: {row.last_error}")
            if row.attribution:
                st.caption(f"Attribution: {row.attribution}")
    st.subheader("Datasets")
    st.caption("Where every value comes from: each observation names its dataset.")
    st.dataframe(
        reads.datasets(snap), hide_index=True, width="stretch",
        column_config={
            "source_id": "Source", "dataset_id": "Dataset", "title": "Title",
            "url": st.column_config.LinkColumn("URL"),
            "last_update": "Publisher's last update",
            "retrieved_at": st.column_config.DatetimeColumn(
                "Retrieved", format="YYYY-MM-DD HH:mm [UTC]"),
            "rows_held": "Rows held",
        },
    )
    st.subheader("Recent loads")
    when = st.column_config.DatetimeColumn
    st.dataframe(
        reads.loads(snap), hide_index=True, width="stretch",
        # the error next to the status, where it is seen without scrolling sideways
        column_order=["load_id", "source_id", "started_at", "finished_at", "status", "error",
                      "rows_read", "rows_loaded", "rows_changed", "rows_rejected"],
        column_config={
            "load_id": "Load", "source_id": "Source", "publisher": "Publisher",
            "started_at": when("Started", format="YYYY-MM-DD HH:mm [UTC]"),
            "finished_at": when("Finished", format="YYYY-MM-DD HH:mm [UTC]"),
            "status": "Status", "rows_read": "Rows read", "rows_loaded": "Rows held",
            "rows_changed": "Rows changed", "rows_rejected": "Rows rejected", "error": "Error",
        },
    )
