"""How far the headline index (world city connectivity, on open data) is from the field's
reference: GaWC's global network connectivity of 2020 (Data Set 31, 707 cities).

GaWC's city names are resolved to the warehouse's registry with the sources' own matcher
(flows.sources.resolve: a stated country first, then, for names it leaves unmatched, every
country, as for a service-value matrix that names no country). On the cities in both it prints
Spearman's rank correlation between the index score and GNC, and the overlap of the two top-20
lists, with both lists. The GaWC file is read in place and never copied; the weights of the
index were not tuned to it.

    python -m benchmarks gawc                                  # data/citybench.duckdb
    python -m benchmarks.gawc --db PATH [--gawc FILE] [--framework ID]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

from flows.scoring import HEADLINE
from flows.sources import gawc as gawc_source
from flows.sources import resolve
from warehouse import read_model
from warehouse.connect import open_read_only
from warehouse.registry import read_registry

ROOT = Path(__file__).resolve().parents[1]
GNC2020 = ROOT.parent / "shared" / "opendata" / "gawc" / "gnc-2020" / "da31_gnc2020.xlsx"
TOP = 20
@dataclass(frozen=True)
class Comparison:
    gawc_cities: int
    resolved: int
    common: pd.DataFrame  # city_id, name, gnc, gawc_rank, score, rank: the cities in both
    rho: float
    top_index: pd.DataFrame  # the index's top 20: rank, name, in_gawc_top
    top_gawc: pd.DataFrame  # GaWC's top 20: rank, city, name (registry), in_index_top

    @property
    def overlap(self) -> int:
        return int(self.top_index["in_gawc_top"].sum())


def read_gawc(path: Path = GNC2020) -> pd.DataFrame:
    """GaWC's results sheet: rank, city, country, GNC (absolute)."""
    frame = pd.read_excel(path, sheet_name=0, engine="calamine")
    return frame.rename(columns={"Rank": "gawc_rank", "City": "city", "Country": "country",
                                 "GNC_abs": "gnc"})[["gawc_rank", "city", "country", "gnc"]]


def resolve_gawc(gawc: pd.DataFrame, registry) -> pd.Series:
    """Each GaWC row's city_id (None where the matcher would not say), by the row's index."""
    lookup = resolve.country_codes(registry.countries, gawc_source.COUNTRY_NAMES)
    records = pd.DataFrame({
        "key": gawc.index.astype(str),
        # as GaWC writes it: the matcher reads a US state in brackets ("Rochester (New York)")
        "name": gawc["city"].map(lambda city: gawc_source.qualified_name(city)[0]),
        "country": resolve.to_iso2(gawc["country"], lookup),
    })
    verdicts = resolve.match_anywhere(records, registry).set_index("key")
    matched = verdicts["status"] == "matched"
    retry = records[records["key"].isin(verdicts.index[~matched])].assign(country=None)
    if len(retry):
        again = resolve.match_anywhere(retry, registry).set_index("key")
        verdicts.loc[again.index[again["status"] == "matched"]] = again[
            again["status"] == "matched"]
    ids = verdicts["city_id"].where(verdicts["status"] == "matched")
    ids.index = gawc.index
    # two GaWC rows on one city (a city and its namesake): the better-ranked keeps it
    return ids.where(~ids.duplicated() | ids.isna())


def compare(db: Path, path: Path = GNC2020, framework: str = HEADLINE) -> Comparison:
    gawc = read_gawc(path)
    con = open_read_only(db)
    try:
        registry = read_registry(con)
    finally:
        con.close()
    gawc["city_id"] = resolve_gawc(gawc, registry)
    ranking = read_model.rankings(db, framework, top=10**7)
    ranking = ranking[ranking["rank"].notna()][["city_id", "name", "score", "rank"]]
    if ranking.empty:
        raise SystemExit(f"{db}: no city is ranked by {framework}: refresh it with the sources "
                         "its methodology names (see the Rankings page's notes)")
    common = gawc.dropna(subset=["city_id"]).merge(ranking, on="city_id")
    rho = float(spearmanr(common["score"], common["gnc"]).statistic)
    top_index = ranking.sort_values("rank").head(TOP)
    top_gawc = gawc.sort_values("gawc_rank").head(TOP).merge(
        ranking[["city_id", "name"]], on="city_id", how="left")
    top_index = top_index.assign(in_gawc_top=top_index["city_id"].isin(top_gawc["city_id"]))
    top_gawc = top_gawc.assign(in_index_top=top_gawc["city_id"].isin(top_index["city_id"]))
    return Comparison(len(gawc), int(gawc["city_id"].notna().sum()), common, rho,
                      top_index, top_gawc)


def report(result: Comparison, framework: str = HEADLINE) -> list[str]:
    lines = [
        f"GaWC 2020: {result.gawc_cities} cities, {result.resolved} resolved to the registry, "
        f"{len(result.common)} ranked by {framework}",
        f"Spearman's rank correlation (index score vs GNC, {len(result.common)} cities): "
        f"{result.rho:.3f}",
        f"top-{TOP} overlap: {result.overlap} of {TOP}",
        "",
        f"{'rank':>4}  {framework + ' top ' + str(TOP):<28}{'rank':>4}  GaWC 2020 top {TOP}",
    ]
    for index_row, gawc_row in zip(result.top_index.itertuples(), result.top_gawc.itertuples(),
                                   strict=True):
        mark_a = "*" if index_row.in_gawc_top else " "
        mark_b = "*" if gawc_row.in_index_top else " "
        lines.append(f"{int(index_row.rank):>4} {mark_a}{index_row.name:<28}"
                     f"{int(gawc_row.gawc_rank):>4} {mark_b}{gawc_row.city}")
    lines.append("(* in both top-20 lists)")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gawc", description=__doc__
                                     .splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("data/citybench.duckdb"))
    parser.add_argument("--gawc", type=Path, default=GNC2020)
    parser.add_argument("--framework", default=HEADLINE)
    args = parser.parse_args(argv if argv is not None else [])
    # skipped, not failed, so that `python -m benchmarks` runs the other suites anywhere
    if not args.gawc.is_file():
        print(f"gawc: skipped: {args.gawc} absent (GaWC Data Set 31, read from ../shared)")
        return
    if not args.db.is_file():
        print(f"gawc: skipped: no warehouse at {args.db} (`citybench refresh` builds it)")
        return
    print("\n".join(report(compare(args.db, args.gawc, args.framework), args.framework)))


if __name__ == "__main__":
    main(sys.argv[1:])
