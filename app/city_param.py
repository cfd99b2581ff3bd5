"""The city a view highlights (Explorer, Networks): named by the address's ?city= (an id, or a
name that names one city) or by a search box; a name that could be several cities lists them
to choose from and never picks one (app/lookup.py decides what a name names)."""

from __future__ import annotations

import streamlit as st

from app import lookup, params, reads


def _from_address(snap: reads.Snapshot) -> str | None:
    requested = params.text("city")
    if requested is None:
        return None
    city_id, _, problem = reads.city_matches(snap, requested)
    if city_id is None:
        params.ignored("city", requested, problem)
    return city_id


def _from_search(snap: reads.Snapshot, text: str) -> str | None:
    city_id, candidates, problem = reads.city_matches(snap, text)
    if city_id is not None:
        return city_id
    if candidates.empty:
        st.warning(f"No city found: {problem}.", icon=":material/search_off:")
        return None
    labels = dict(zip(candidates["city_id"],
                      (line.strip() for line in
                       lookup.candidate_lines(candidates.to_dict("records"))),
                      strict=True))
    return st.selectbox(f"{problem[0].upper()}{problem[1:]}. Choose the city you mean:",
                        list(labels), format_func=labels.get, index=None,
                        placeholder="Choose a city", key="city-candidates")


def chosen(snap: reads.Snapshot) -> str | None:
    """The city the search names, else the one the address names, else None (the view picks
    its default); the choice is written back to the address by the view."""
    from_address = _from_address(snap)
    text = st.text_input("Highlight a city", placeholder="e.g. München, Valencia, ES, gn:2988507",
                         key="city-search")
    return (_from_search(snap, text) if text else None) or from_address
