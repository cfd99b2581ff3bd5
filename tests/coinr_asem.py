"""The COINr ASEM reference case (../shared/benchmarks/coinr-asem), read in place: its metadata
written out as a citybench framework file, its data as a frame, its expected files by name."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "coinr-asem"
METHODS = Path(__file__).parent / "data" / "coinr-asem"

needs_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"the COINr ASEM reference is not at {REFERENCE}"
)


def framework_toml(flat: bool = False) -> str:
    """iMeta as a framework file. `flat` hangs all indicators directly under the index (the
    Copeland variant)."""
    meta = pd.read_csv(REFERENCE / "input" / "ASEM_iMeta.csv")
    groups = meta.loc[meta["Type"] == "Group", "iCode"].tolist()
    index = meta[(meta["Type"] == "Aggregate") & meta["Parent"].isna()].iloc[0]
    lines = [f"id = {json.dumps(index.iCode)}", f"name = {json.dumps(index.iName)}",
             f"groups = {json.dumps(groups)}"]
    for row in meta[(meta["Type"] == "Aggregate") & meta["Parent"].notna()].itertuples():
        if not flat:
            lines += ["", "[[aggregate]]", f"id = {json.dumps(row.iCode)}",
                      f"name = {json.dumps(row.iName)}", f"parent = {json.dumps(row.Parent)}",
                      f"weight = {row.Weight}"]
    for row in meta[meta["Type"] == "Indicator"].itertuples():
        parent = index.iCode if flat else row.Parent
        lines += ["", "[[indicator]]", f"id = {json.dumps(row.iCode)}",
                  f"name = {json.dumps(row.iName)}", f"parent = {json.dumps(parent)}",
                  f"weight = {row.Weight}", f"direction = {int(row.Direction)}",
                  f"unit = {json.dumps(row.Unit)}"]
        if isinstance(row.Denominator, str):
            lines.append(f"denominator = {json.dumps(row.Denominator)}")
        if pd.notna(row.Target):
            lines.append(f"target = {row.Target!r}")
    return "\n".join(lines) + "\n"


def data() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "input" / "ASEM_iData.csv")


def expected(name: str, **read) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "expected" / name, **read)


def method_text(variant: str) -> str:
    return (METHODS / f"{variant}.method.toml").read_text(encoding="utf-8")
