"""citybench front end: `citybench app` (or `streamlit run app/streamlit_app.py`)."""

from pathlib import Path

import streamlit as st

from warehouse.connect import WarehouseUnreadable

st.set_page_config(page_title="citybench", layout="wide")

VIEWS = Path(__file__).parent / "views"  # not "pages": Streamlit would also route those itself
navigation = st.navigation(position="top", pages={
    "Benchmark": [
        st.Page(VIEWS / "rankings.py", title="Rankings", default=True),
        st.Page(VIEWS / "city.py", title="My city", url_path="city"),
        st.Page(VIEWS / "explorer.py", title="Explorer", url_path="explorer"),
        st.Page(VIEWS / "networks.py", title="Networks", url_path="networks"),
    ],
    "Data and runs": [
        st.Page(VIEWS / "sources.py", title="Sources and freshness", url_path="sources"),
        st.Page(VIEWS / "quality.py", title="Data quality", url_path="quality"),
        st.Page(VIEWS / "downloads.py", title="Downloads", url_path="downloads"),
    ],
})
try:
    navigation.run()
except WarehouseUnreadable as error:  # damage that only a read reaching it finds: one line
    st.error(str(error))
