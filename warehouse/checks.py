"""Checks pandera lacks, registered so that models can name them in `pa.Field(...)`.

Import this module before defining a model that uses them (warehouse.schemas and
flows.sources.base do).
"""

from __future__ import annotations

import pandas as pd
from pandera import extensions

from warehouse.screen import row_wise


@extensions.register_check_method(statistics=["pattern"])
@row_wise
def str_fullmatch(values: pd.Series, *, pattern: str) -> pd.Series:
    """The whole text matches `pattern`. pandera's str_matches anchors only the start, and a
    `$` at the end of its pattern still lets a trailing newline through ('gn:1\\n')."""
    return values.str.fullmatch(pattern, na=False)
