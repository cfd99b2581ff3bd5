"""What a parse had to decide about a file (a firm listed twice, bytes that were not UTF-8),
carried as a small frame to conform(), which tells it with the load's notes."""

from __future__ import annotations

import pandas as pd
from pandera.typing import Series

from flows.sources.raw_model import RawModel


class ParseNoteRaw(RawModel):
    note: Series[str]


def notes_frame(notes: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"note": pd.Series(notes, dtype=str)})
