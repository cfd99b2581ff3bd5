"""`citybench network MATRIX --out O`: Taylor's interlocking network model on a cities x
organisations matrix (CSV or XLSX), without the warehouse and without Prefect.

Files written (all or none: each is written beside its target and renamed into place once
every one is ready, so a failure leaves what was there before):

- O: city, connectivity, share, rank, tier; one row per city, highest connectivity first.
  share is connectivity / the highest (0-1); rank 1 is the highest, ties share the better rank;
  tier as indicators.network.tiers names it (empty below the lowest tier).
- with --dyads K, `<O without .csv>.dyads.csv`: the K strongest pairs of cities: rank, city_a,
  city_b, connectivity (r_ab), share_of_max (r_ab / (m x the top value squared), 25 m on GaWC's
  0-5 scale) and shared (organisations in both).
- when the matrix has a Sector row (warehouse.service_matrix), `<O without .csv>.sectors.csv`:
  city and the connectivity through each sector's organisations (the GNC counting only them).
- with --backbone, `<O without .csv>.backbone.csv`: per city its backbone partners (pairs that
  share significantly more organisations than organisation sizes explain; Neal's SDSM,
  indicators.network.backbone) and the rank by that, beside its connectivity rank; the dyads
  file then also gets each pair's p_value and whether it is in the backbone.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from indicators.network import backbone, interlocking, tiers
from warehouse.output_files import Output, OutputFailed, write_all
from warehouse.parse_error import ParseError
from warehouse.service_matrix import MAX_MATRIX_VALUE, MAX_SERVICE_VALUE, read_service_matrix
from warehouse.spreadsheet_csv import to_csv

PROG = "citybench network"


def beside(out: Path, kind: str) -> Path:
    """`result.csv` -> `result.<kind>.csv`, in the same folder."""
    stem = out.name[: -len(".csv")] if out.name.lower().endswith(".csv") else out.name
    return out.with_name(f"{stem}.{kind}.csv")


def _number(values: np.ndarray) -> pd.Series:
    """Whole numbers written without a decimal point (connectivities of 0-5 values are)."""
    values = np.asarray(values, dtype=float)
    if np.all(values == np.round(values)) and np.abs(values).max(initial=0) < 2 ** 53:
        return pd.Series(values.astype(np.int64))
    return pd.Series(values)


def city_table(cities: pd.Index, gnc: np.ndarray, method: str) -> pd.DataFrame:
    table = pd.DataFrame({
        "city": cities,
        "connectivity": _number(gnc),
        "share": interlocking.proportional(gnc),
        "rank": pd.Series(gnc).rank(method="min", ascending=False).astype(int),
        "tier": tiers.classify(gnc, method),
    })
    return table.iloc[np.lexsort((np.arange(len(table)), -gnc))].reset_index(drop=True)


def dyad_table(cities: pd.Index, matrix, k: int, top_value: float,
               model: backbone.Backbone | None) -> pd.DataFrame:
    dyads = interlocking.strongest_dyads(matrix, k)
    presence = interlocking.as_sparse(matrix)
    presence.data[:] = 1.0
    shared = np.asarray(presence[dyads.a].multiply(presence[dyads.b]).sum(axis=1)).ravel()
    table = pd.DataFrame({
        "rank": pd.Series(dyads.connectivity).rank(method="min", ascending=False).astype(int),
        "city_a": cities[dyads.a],
        "city_b": cities[dyads.b],
        "connectivity": _number(dyads.connectivity),
        "share_of_max": interlocking.dyad_share(dyads.connectivity, matrix.shape[1], top_value),
        "shared": shared.astype(int),
    })
    if model is not None:
        table["p_value"], table["backbone"] = model.lookup(dyads.a, dyads.b)
    return table


def backbone_table(cities: pd.Index, gnc: np.ndarray, model: backbone.Backbone) -> pd.DataFrame:
    degree = model.degree()
    table = pd.DataFrame({
        "city": cities,
        "backbone_partners": degree,
        "backbone_rank": pd.Series(degree).rank(method="min", ascending=False).astype(int),
        "connectivity_rank": pd.Series(gnc).rank(method="min", ascending=False).astype(int),
    })
    return table.iloc[np.lexsort((np.arange(len(table)), -degree))].reset_index(drop=True)


def run(matrix_path: Path, out: Path, dyads: int | None = None, tier_method: str = "share",
        sheet: str | None = None, with_backbone: bool = False) -> int:
    if not matrix_path.is_file():
        print(f"{PROG}: {matrix_path}: no such file", file=sys.stderr)
        return 1
    if dyads is not None and dyads < 1:
        print(f"{PROG}: --dyads {dyads}: expected a number of pairs of at least 1",
              file=sys.stderr)
        return 1
    if not out.parent.is_dir():
        print(f"{PROG}: cannot write {out}: {out.parent} is not a folder", file=sys.stderr)
        return 1
    try:
        read = read_service_matrix(matrix_path.read_bytes(), str(matrix_path), sheet,
                                   max_value=MAX_MATRIX_VALUE)
    except ParseError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{PROG}: {matrix_path}: {error.strerror or error}", file=sys.stderr)
        return 1
    values = read.values
    cities, matrix = values.index, values.to_numpy(dtype=float)
    gnc = interlocking.connectivity(matrix)
    try:
        model = backbone.sdsm_backbone(matrix) if with_backbone else None
    except ArithmeticError as error:
        print(f"{PROG}: --backbone: {error}", file=sys.stderr)
        return 1
    frames = {out: city_table(cities, gnc, tier_method)}
    if dyads:
        top_value = max(MAX_SERVICE_VALUE, float(matrix.max(initial=0)))
        frames[beside(out, "dyads")] = dyad_table(cities, matrix, dyads, top_value, model)
    if model is not None:
        frames[beside(out, "backbone")] = backbone_table(cities, gnc, model)
    if read.sector is not None:
        by_sector = interlocking.sector_connectivity(matrix, read.sector[values.columns])
        frames[beside(out, "sectors")] = pd.concat(
            [pd.Series(cities, name="city"), by_sector.apply(_number)], axis=1)
    try:  # city and firm names come from the user's file: written spreadsheet-safe
        write_all(Output(path, lambda at, frame=frame: to_csv(frame, at))
                  for path, frame in frames.items())
    except OutputFailed as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    print("\n".join(_summary(matrix_path, read.notes, frames, model)))
    return 0


def _summary(matrix_path: Path, notes, frames: dict[Path, pd.DataFrame],
             model: backbone.Backbone | None) -> list[str]:
    (out, table), *others = frames.items()
    top = ", ".join(f"{row.city} {row.connectivity:,}" for row in table.head(3).itertuples())
    lines = [*(f"{PROG}: note: {note}" for note in notes),
             f"{PROG}: {len(table):,} cities from {matrix_path}; most connected: {top}",
             f"{PROG}: wrote {out} ({len(table):,} rows)"]
    lines += [f"{PROG}: wrote {path} ({len(frame):,} rows)" for path, frame in others]
    if model is not None:
        lines.append(f"{PROG}: backbone ({model.method} SDSM p-values, alpha "
                     f"{backbone.ALPHA}): {int(model.significant.sum()):,} of "
                     f"{len(model.tested):,} pairs sharing an organisation")
    return lines
