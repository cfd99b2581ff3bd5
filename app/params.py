"""A view's state in the address's query parameters, so that a shared URL reproduces the view
(datasette's rule). Every page reads its parameters through these functions: a value that is
unknown, too long or out of range shows one line saying what was ignored, and the page goes on
with its default; nothing else happens."""

from __future__ import annotations

import math
from collections.abc import Collection

import streamlit as st

# No name, id or list a view takes comes near this; a longer value is not read at all.
MAX_LENGTH = 300


def ignored(key: str, value: str, why: str) -> None:
    shown = value if len(value) <= 40 else value[:40] + "…"
    st.warning(f"The address's {key}={shown!r} was ignored: {why}.", icon=":material/link_off:")


def text(key: str) -> str | None:
    """The parameter as given, or None when absent, empty or too long (said once)."""
    value = st.query_params.get(key)
    if not value:
        return None
    if len(value) > MAX_LENGTH:
        ignored(key, value, f"longer than {MAX_LENGTH} characters")
        return None
    return value


def choice(key: str, allowed: Collection[str], default: str | None = None) -> str | None:
    """One of `allowed`, else `default` (an unknown value is said)."""
    value = text(key)
    if value is None:
        return default
    if value not in allowed:
        ignored(key, value, "not one of the choices this page offers")
        return default
    return value


def number(key: str, low: float, high: float, default: float) -> float:
    """A finite number within [low, high], else `default`."""
    value = text(key)
    if value is None:
        return default
    try:
        parsed = float(value)
    except ValueError:
        ignored(key, value, "not a number")
        return default
    if not math.isfinite(parsed) or not low <= parsed <= high:
        ignored(key, value, f"outside {low:g} to {high:g}")
        return default
    return parsed


def keep(**values: str | None) -> None:
    """Write the view's state into the address; a None removes its parameter."""
    for key, value in values.items():
        if value is None:
            st.query_params.pop(key, None)
        elif st.query_params.get(key) != value:
            st.query_params[key] = value
