"""Downloads: every table of the published warehouse as CSV or Parquet, the DuckDB file
itself, with the licences that come with the data, and the chart pack."""

import streamlit as st

from app import pack_download, reads, ui
from warehouse import exports

st.title("Downloads")
snap = ui.published()
if snap is not None:
    ui.freshness(snap)
    st.caption("The published version's tables, whole, as DuckDB stores them (numbers as "
               "numbers, every row). A file is written when its button is pressed. The data "
               "keeps its publishers' licences: credit them as listed at the foot of the page.")
    listing = reads.tables(snap)
    for row in listing.itertuples(index=False):
        name, csv, parquet = st.columns([3, 1, 1], vertical_alignment="center")
        name.markdown(f"**{row.name}** · {row.rows:,} rows"
                      + (f"  \n{row.comment}" if row.comment else ""))
        for column, form in ((csv, "csv"), (parquet, "parquet")):
            column.download_button(
                form.upper() if form == "csv" else "Parquet",
                # default arguments bind this row's table, not the loop's last
                lambda table=row.name, form=form: exports.table_file(snap.path, table, form),
                f"{row.name}.{form}",
                "text/csv" if form == "csv" else "application/vnd.apache.parquet",
                key=f"{row.name}-{form}", on_click="ignore", icon=":material/download:")
    st.divider()
    size = snap.path.stat().st_size
    st.download_button(
        f"The whole warehouse: {snap.path.name} (DuckDB, {size / 1e6:,.0f} MB)",
        lambda: snap.path.read_bytes(), snap.path.name, "application/octet-stream",
        key="warehouse-file", on_click="ignore", icon=":material/database:")
    st.caption("Open it read-only with `duckdb` or any DuckDB client; "
               "`SELECT table_name, comment FROM duckdb_tables()` describes its tables.")
    st.divider()
    pack_download.section(snap)
    ui.attribution_footer(snap)
