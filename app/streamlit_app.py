"""citybench front end: `citybench app` (or `streamlit run app/streamlit_app.py`)."""

from pathlib import Path

import streamlit as st

st.set_page_config(page_title="citybench", layout="wide")

VIEWS = Path(__file__).parent / "views"  # not "pages": Streamlit would also route those itself
navigation = st.navigation([
    st.Page(VIEWS / "rankings.py", title="Rankings", default=True),
    st.Page(VIEWS / "city.py", title="City", url_path="city"),
    st.Page(VIEWS / "sources.py", title="Sources and freshness", url_path="sources"),
    st.Page(VIEWS / "quality.py", title="Data quality", url_path="quality"),
])
navigation.run()
