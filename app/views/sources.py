"""Sources and freshness: what each source holds, when it was refreshed, what failed and why."""

import streamlit as st

from app import ui

st.title("Sources and freshness")
snap = ui.published()
if snap is not None:
    ui.freshness(snap)
    sources = ui.read(snap, "sources")
    for row in sources.itertuples():
        with st.container(border=True):
            st.markdown(f"**{row.publisher}**: {row.dataset}  \n`{row.source_id}` · "
                        f"{row.licence} · [{row.url}]({row.url})")
            status = "✅ loaded" if row.last_status == "success" else "❌ last run failed"
            st.write(f"{status} · last successful refresh {ui.when(row.last_success_at)} · "
                     f"{int(row.rows_loaded or 0):,} observations held · "
                     f"{int(row.rows_rejected or 0):,} rows rejected in the last run")
            if row.last_status == "failed":
                st.error(f"Last run failed: {row.last_error}")
            st.caption(f"Attribution: {row.attribution}")
    st.subheader("Recent loads")
    st.dataframe(ui.read(snap, "loads"), hide_index=True, width="stretch")
