"""The base of every source's raw models."""

from __future__ import annotations

import pandera.pandas as pa


class RawModel(pa.DataFrameModel):
    """A raw frame as a source's parse gives it: only the columns its model names are kept
    (a publisher's new columns are no error), each converted to the model's type."""

    class Config:
        strict = "filter"
        coerce = True
