"""Eurostat city statistics (Urban Audit): population, citizenship, culture and tourism,
economy, labour market and environment of some 900 European cities, with Eurostat's flags.

What is fetched: the current dissemination API, one request per dataset naming the variables
loaded (indic_ur), so every request stays under the 500,000 cells above which Eurostat queues
the extraction instead of answering (about 6 variables x 1,800 spatial units x 35 years); the
code list of spatial units (their names, for formats that carry codes only); and the metadata
annex urb_esms_an2 with the formulas of derived indicators. Each dataset may be pointed at any
format Eurostat publishes (JSON-stat, SDMX-CSV, TSV, the legacy Data Explorer CSV) with
[sources.eurostat.urls]: the format is read from the content. `[sources.eurostat] datasets =
[...]` chooses the datasets.

Only cities (codes `..C`) become observations: greater cities and functional urban areas are
other spatial units than the city a benchmark compares, and giving their values to the city
would mix them (they are counted in the notes). Each city's series holds one territory
(eurostat_series.py): where the publisher counts another one from some year on (France's
cities in 2015: Paris from 2.22 M to 9.78 M), only the years of one are loaded.
Cities resolve to canonical ones by name and country; the code crosswalk is kept in
city_alias (scheme 'eurostat', current code).

Derived indicators (rates, shares) are computed with Eurostat's formulas from the annex where
every input was loaded, and Eurostat did not publish the indicator in the data fetched.

A dataset Eurostat refuses or queues (over 500,000 cells) fails the whole load with a line
saying to filter: loading the other datasets alone would delete the refused one's published
rows, since a source's rows are replaced as a whole.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series
from pydantic import field_validator

from flows.matching import match_cities
from flows.sources import eurostat_places as places
from flows.sources import resolve
from flows.sources.base import Conformed, Extracted, Registry, Source
from flows.sources.eurostat_formats import read_codelist, read_dataset, read_formulas
from flows.sources.eurostat_formulas import Expression, Operation, Variable, derived, evaluate
from flows.sources.eurostat_formulas import variables as inputs_of
from flows.sources.eurostat_series import TERRITORY_SHIFT, one_territory
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
from warehouse.config import SourceSettings

SOURCE_ID = "eurostat"
API = "https://ec.europa.eu/eurostat/api/dissemination"
CODELIST = "CITIES"
FORMULAS = "urb_esms_an2"

# Dataset -> (title, variables requested). Titles as Eurostat's metadata (urb_esms) gives them.
DATASETS: dict[str, tuple[str, list[str]]] = {
    "urb_cpop1": ("Population on 1 January by age groups and sex - cities and greater cities",
                  ["DE1001V", "DE1002V", "DE1003V", "DE1040V", "DE1025V", "DE1055V"]),
    "urb_cpopcb": ("Population by citizenship and country of birth - cities and greater cities",
                   ["DE2001V", "DE2002V", "DE2003V", "DE2012V", "DE2008V", "DE2009V"]),
    "urb_ctour": ("Culture and tourism - cities and greater cities",
                  ["CR1003V", "CR2001V", "CR2009V"]),
    "urb_cecfi": ("Economy and finance - cities and greater cities", ["EC2021V", "EC2039V"]),
    "urb_clma": ("Labour market - cities and greater cities",
                 ["EC1001V", "EC1002V", "EC1003V", "EC1010V", "EC1011V", "EC1012V"]),
    "urb_cenv": ("Environment - cities and greater cities",
                 ["EN2029V", "EN2032V", "EN2033V", "EN2035V", "EN2036V"]),
}


def _json_stat_url(dataset: str) -> str:
    filters = "".join(f"&indic_ur={code}" for code in DATASETS[dataset][1])
    return f"{API}/statistics/1.0/data/{dataset}?format=JSON&lang=EN{filters}"


def _tsv_url(dataset: str) -> str:
    # SDMX key: freq.indic_ur.cities, '+' between alternatives, empty = every city
    return f"{API}/sdmx/2.1/data/{dataset}/A.{'+'.join(DATASETS[dataset][1])}.?format=TSV"


# Variable labels as Eurostat writes them: the legacy Data Explorer export names variables by
# label only, so these are how its rows get their codes.
LABELS = {
    "Population on the 1st of January, total": "DE1001V",
    "Population on the 1st of January, male": "DE1002V",
    "Population on the 1st of January, female": "DE1003V",
    "Population on the 1st of January, 0-4 years, total": "DE1040V",
    "Population on the 1st of January, 0-4 years, male": "DE1041V",
}
# Units where the variable's definition fixes them; otherwise Eurostat states the unit in the
# label (urb_esms 4: "In most cases the unit of measurement is included in the label").
UNITS = {"DE1": "persons", "DE2": "persons", "EC10": "persons", "EN20": "persons",
         "CR1003V": "seats", "CR2001V": "nights", "CR2009V": "bed places"}
UNIT_IN_LABEL = "as stated in the name"
UNIT_UNKNOWN = "not stated in the files read"
# Unemployment and exposure to noise: less is better. Others are not judged (+1).
LOWER_IS_BETTER = re.compile(r"^(EC101[0-2]V|EC10(11|12|20)I|EN20\d\d[VI])$")
DOMAINS = {"DE": "demography", "EC1": "labour market", "EC": "economy", "CR":
           "culture and tourism", "EN": "environment", "SA": "living conditions",
           "TE": "education", "TT": "transport"}
CODE = re.compile(r"^[A-Z]{2}\d{4}[VI]$")
UNKNOWN = "unknown"  # a label found nowhere in the code list: reported, not counted as skipped
# The spatial level of every Eurostat series, stated in each indicator's description.
LEVEL = ("Spatial level: the city (Urban Audit 'city': one or more municipalities, LAU); "
         "greater cities and functional urban areas are not loaded. One territory per city: "
         f"where total population changes by more than {TERRITORY_SHIFT:.0%} in a year the "
         "boundary moved, and only the years of one territory are loaded (see the load notes).")


class CellRaw(RawModel):
    dataset_id: Series[str] = pa.Field(isin=list(DATASETS))
    indicator: Series[str] = pa.Field(str_length={"min_value": 1})
    spatial: Series[str] = pa.Field(str_length={"min_value": 1})
    by_label: Series[bool]
    period: Series[int] = pa.Field(ge=1800, le=2100)
    value: Series[float] = pa.Field(nullable=True)
    flag: Series[str] = pa.Field(nullable=True, str_fullmatch=r"[a-z]+")


class NameRaw(RawModel):
    code: Series[str] = pa.Field(str_length={"min_value": 1})
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    origin: Series[str]  # 'CITIES' (the code list) or the dataset that labelled it


class FormulaRaw(RawModel):
    code: Series[str] = pa.Field(unique=True, str_fullmatch=r"[A-Z]{2}[0-9]{4}I")
    label: Series[str]
    numerator: Series[str] = pa.Field(str_length={"min_value": 1})
    denominator: Series[str] = pa.Field(str_length={"min_value": 1})


class EurostatSettings(SourceSettings):
    """[sources.eurostat] datasets = ["urb_cpop1", ...]: the datasets to load (default: all)."""

    datasets: list[str] = list(DATASETS)

    @field_validator("datasets")
    @classmethod
    def _known(cls, chosen: list[str]) -> list[str]:
        unknown = [name for name in chosen if name not in DATASETS]
        if unknown or not chosen:
            raise ValueError(("unknown dataset(s) " + ", ".join(unknown) if unknown else "none")
                             + f"; known: {', '.join(DATASETS)}")
        return chosen


class Eurostat(Source):
    meta = publisher_of(SOURCE_ID)
    Settings = EurostatSettings
    raw_models = {
        "cells": CellRaw,
        "places": NameRaw,
        "indicator_names": NameRaw,
        "formulas": FormulaRaw,
    }
    urls = {
        CODELIST: f"{API}/sdmx/2.1/codelist/ESTAT/{CODELIST}?format=TSV&lang=en",
        FORMULAS: f"https://ec.europa.eu/eurostat/cache/metadata/Annexes/{FORMULAS}.xlsx",
        # urb_cecfi as the SDMX TSV, successor of the bulk file; the others as JSON-stat,
        # which carries the labels of cities and variables itself.
        **{name: _tsv_url(name) if name == "urb_cecfi" else _json_stat_url(name)
           for name in DATASETS},
    }
    # a bulk TSV or Data Explorer export of a dataset is read as well as the API's answer;
    # the code list may be the Urban Audit list of codes (regions.csv)
    published_as = {
        CODELIST: (f"{CODELIST}.tsv", "regions.csv"),
        FORMULAS: (f"{FORMULAS}.xlsx", f"{FORMULAS}.csv"),
        **{name: (f"{name}.json", f"{name}.tsv", f"{name}_1_Data.csv") for name in DATASETS},
    }

    def __init__(self, settings: EurostatSettings | None = None) -> None:
        super().__init__(settings)
        chosen = self.settings.datasets
        self.urls = {name: url for name, url in self.urls.items()
                     if name not in DATASETS or name in chosen}

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        cells, names, indicator_names, datasets = [], [], [], []
        codelist = read_codelist(self.urls[CODELIST], extracted.files[CODELIST])
        names.append(codelist.assign(origin=CODELIST))
        formulas = read_formulas(self.urls[FORMULAS], extracted.files[FORMULAS])
        for name in (n for n in DATASETS if n in extracted.files):
            table = read_dataset(self.urls[name], extracted.files[name], LABELS)
            cells.append(table.cells.assign(dataset_id=name, by_label=table.by_label))
            names.append(_named(table.place_names, name))
            indicator_names.append(_named(table.indicator_names, name))
            datasets.append(self.dataset(extracted, name, table.title or DATASETS[name][0],
                                         last_update=table.last_update))
        return {
            "datasets": self.datasets_frame(datasets),
            "cells": pd.concat(cells, ignore_index=True),
            "places": pd.concat(names, ignore_index=True),
            "indicator_names": pd.concat(indicator_names, ignore_index=True),
            "formulas": formulas,
        }

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        cells = _locate(raw["cells"], raw["places"], registry)
        notes = _spatial_notes(cells)
        records, unresolved = _city_records(cells, raw["places"])
        # the unresolved share counts cities (codes, labels), not the cells each one holds
        tried = len(records) + sum(len(frame) for frame in unresolved)
        verdicts = _resolve(records, registry)
        matched = verdicts[verdicts["status"] == "matched"]
        unresolved.append(_unmatched(verdicts, records, cells))
        observed, dropped = _observations(cells, matched, raw["datasets"])
        notes += dropped
        observed, moved = one_territory(observed)
        notes += moved
        computed, formula_notes = _derived(observed, raw["formulas"])
        notes += formula_notes
        observation = pd.concat([observed, computed], ignore_index=True)
        indicator = _indicators(observation, raw["indicator_names"], raw["formulas"])
        observation["indicator_id"] = observation["code"].map(_indicator_id)
        alias = resolve.city_aliases("eurostat", matched["key"], matched, SOURCE_ID)
        reported = pd.concat(unresolved, ignore_index=True)
        notes.insert(0, f"{len(matched):,} of {len(records):,} Eurostat cities resolved; "
                        f"{len(observed):,} values loaded, {len(computed):,} derived")
        return self.conformed(
            raw,
            indicator,
            observation=observation.assign(source_id=SOURCE_ID)[
                ["city_id", "indicator_id", "period", "source_id", "dataset_id", "value", "flag"]
            ],
            city_alias=alias,
            unresolved=reported[["key", "name", "status", "reason"]],
            notes=notes,
            records=tried,
        )


def _named(labels: dict[str, str], origin: str) -> pd.DataFrame:
    frame = pd.DataFrame({"code": list(labels), "name": list(labels.values())}, dtype=str)
    return frame.assign(origin=origin)


def _indicator_id(code: str) -> str:
    return f"eurostat_{code.lower()}"


# --- where each cell is --------------------------------------------------------------------


def _locate(cells: pd.DataFrame, names: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """Each cell with its spatial unit's level, current code and country. Codes say it
    themselves; labels (Data Explorer) are looked up in the code list."""
    by_code = cells.loc[~cells["by_label"], "spatial"].drop_duplicates()
    units = pd.DataFrame([places.spatial_unit(c).__dict__ for c in by_code],
                         columns=["code", "level", "current", "country"])
    units.insert(0, "spatial", by_code.to_numpy())
    labels = cells.loc[cells["by_label"], "spatial"].drop_duplicates()
    codelist = names[names["origin"] == CODELIST]
    located = pd.concat([units.assign(by_label=False),
                         _locate_labels(labels, codelist, registry).assign(by_label=True)],
                        ignore_index=True)
    cells = cells.merge(located.drop(columns="code"), on=["spatial", "by_label"], how="left")
    # One label for two units (the export calls both Madrid and its greater city 'Madrid'):
    # their rows cannot be told apart. (Formats keyed by codes refuse repeats when read.)
    doubled = cells["by_label"] & cells.duplicated(
        ["dataset_id", "indicator", "spatial", "period"], keep=False)
    twice = cells.loc[doubled, ["dataset_id", "spatial"]].drop_duplicates()
    cells["doubled"] = cells.set_index(["dataset_id", "spatial"]).index.isin(
        pd.MultiIndex.from_frame(twice))
    return cells


def _locate_labels(labels: pd.Series, codelist: pd.DataFrame, registry: Registry):
    countries = {places.letters(n) for n in registry.countries["name"].dropna()}
    cities = codelist.assign(unit=[places.spatial_unit(c) for c in codelist["code"]])
    cities = cities[[u.level == places.CITY for u in cities["unit"]]]
    keys = cities.assign(key=cities["name"].map(places.letters),
                         current=[u.current for u in cities["unit"]])
    exact = keys.groupby("key")["current"].unique()
    rows = []
    for label in labels:
        if places.is_greater_city_label(label):
            rows.append((label, None, places.GREATER_CITY, None, None, None))
            continue
        if "\ufffd" in label:
            pattern = places.label_pattern(label)
            found = keys.loc[[bool(pattern.fullmatch(k)) for k in keys["key"]], "current"]
        else:
            found = pd.Series(exact.get(places.letters(label), []), dtype=object)
        current = found.drop_duplicates()
        if len(current) == 1:
            code = current.iloc[0]
            rows.append((label, code, places.CITY, code, places.spatial_unit(code).country,
                         None))
        elif len(current) > 1:
            rows.append((label, None, places.CITY, None, None,
                         f"the label matches {len(current)} cities of the code list "
                         f"({', '.join(current)})"))
        elif places.letters(label) in countries:
            rows.append((label, None, places.COUNTRY, None, None, None))
        else:
            rows.append((label, None, UNKNOWN, None, None,
                         "no city of the code list bears this name"))
    return pd.DataFrame(rows, columns=["spatial", "code", "level", "current", "country",
                                       "label_problem"])


def _spatial_notes(cells: pd.DataFrame) -> list[str]:
    held = cells[cells["value"].notna()]
    counts = held["level"].value_counts()
    skipped = [f"{counts[level]:,} of {level}" for level in
               (places.GREATER_CITY, places.URBAN_AREA, places.COUNTRY, places.OTHER)
               if counts.get(level)]
    notes = []
    if skipped:
        notes.append("values not loaded, city observations only: " + ", ".join(skipped))
    if missing := cells["value"].isna().sum():
        flags = cells.loc[cells["value"].isna(), "flag"].value_counts()
        notes.append(f"{missing:,} cells are missing with a flag (':' + flag, never zero): "
                     + ", ".join(f"{n:,} '{flag}'" for flag, n in flags.items()))
    return notes


# --- which city each code is ---------------------------------------------------------------


def _city_records(cells: pd.DataFrame, names: pd.DataFrame):
    """One record per current city code: its name (the dataset's own label first, then the
    code list's, under the current code or an old one) and its country."""
    city = cells[(cells["level"] == places.CITY) & cells["current"].notna() & ~cells["doubled"]]
    unresolved = [_label_problems(cells)]
    named = names.assign(current=[places.spatial_unit(c).current for c in names["code"]],
                         listed=names["origin"] == CODELIST,
                         newness=-names["code"].map(places.version))
    best = named.dropna(subset=["current"]).sort_values(["listed", "newness"])
    best = best.drop_duplicates("current")
    records = city[["current", "country"]].drop_duplicates("current").merge(
        best[["current", "name"]], on="current", how="left")
    nameless = records[records["name"].isna()]
    if len(nameless):
        counts = city[city["value"].notna()].groupby("current").size()
        unresolved.append(resolve.unresolved(
            nameless["current"], nameless["current"], "unnamed",
            [f"no name for the code in the code list or the data "
             f"({counts.get(c, 0):,} values not loaded)" for c in nameless["current"]]))
    records = records.dropna(subset=["name"])
    return pd.DataFrame({"key": records["current"],
                         "name": records["name"].map(places.readable_name),
                         "country": records["country"]}), unresolved


def _label_problems(cells: pd.DataFrame) -> pd.DataFrame:
    held = cells[cells["value"].notna()]
    doubled = held[held["doubled"]].groupby("spatial").size()
    problems = held[held["label_problem"].notna() & ~held["doubled"]]
    unclear = problems.groupby(["spatial", "label_problem"]).size().reset_index(name="n")
    return pd.concat([
        resolve.unresolved(doubled.index, doubled.index, "ambiguous",
                           [f"the export gives this label to two spatial units (a city and its "
                            f"greater city): rows cannot be told apart ({n:,} values not loaded)"
                            for n in doubled]),
        resolve.unresolved(unclear["spatial"], unclear["spatial"], "unmatched",
                           unclear["label_problem"] + " (" + unclear["n"].map("{:,}".format)
                           + " values not loaded)"),
    ], ignore_index=True)


def _resolve(records: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    verdicts = match_cities(records, registry.cities, registry.aliases)
    verdicts = _earlier_crosswalk(verdicts, registry)
    return _one_code_per_city(verdicts, records, registry)


def _earlier_crosswalk(verdicts: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """A code that no name resolves today keeps the city an earlier load tied it to, when the
    registry hands those crosswalks over (its `codes`: scheme, alias, city_id, confidence)."""
    codes = registry.codes
    earlier = codes[(codes["scheme"] == "eurostat")
                    & codes["city_id"].isin(registry.cities["city_id"])]
    earlier = earlier.drop_duplicates("alias").set_index("alias")
    reuse = (verdicts["status"] != "matched") & verdicts["key"].isin(earlier.index)
    if not reuse.any():
        return verdicts
    keys = verdicts.loc[reuse, "key"]
    verdicts.loc[reuse, "city_id"] = keys.map(earlier["city_id"]).to_numpy()
    verdicts.loc[reuse, "confidence"] = keys.map(earlier["confidence"]).to_numpy()
    verdicts.loc[reuse, ["method", "status"]] = ["eurostat code (earlier load)", "matched"]
    verdicts.loc[reuse, "reason"] = "the crosswalk of an earlier load"
    return verdicts


def _one_code_per_city(verdicts, records, registry) -> pd.DataFrame:
    """The registry counts districts and suburbs within their city (Getafe in Madrid,
    Gateshead in Newcastle), so several Eurostat cities can resolve to one. Only the one
    bearing the city's own name keeps it; the others are reported, not merged into it."""
    verdicts = verdicts.merge(records[["key", "name"]], on="key")
    own = registry.cities.set_index("city_id")["name"].map(places.letters)
    matched = verdicts["status"] == "matched"
    shared = matched & verdicts["city_id"].duplicated(keep=False)
    bears = verdicts["name"].map(places.letters) == verdicts["city_id"].map(own)
    keeper = verdicts[shared & bears].drop_duplicates("city_id", keep=False)
    keeper = keeper.set_index("city_id")
    for at in verdicts.index[shared]:
        city = verdicts.at[at, "city_id"]
        if city in keeper.index and keeper.at[city, "key"] == verdicts.at[at, "key"]:
            continue
        holder = (f"{keeper.at[city, 'key']} ({keeper.at[city, 'name']}) holds it"
                  if city in keeper.index else "none of them bears its name")
        verdicts.at[at, "reason"] = (f"resolves to {city}, as other Eurostat cities do (the "
                                     f"registry counts them within one city); {holder}")
        verdicts.at[at, "status"] = "duplicate"
    return verdicts.drop(columns="name")


def _unmatched(verdicts, records, cells) -> pd.DataFrame:
    counts = cells[cells["value"].notna() & (cells["level"] == places.CITY)].groupby(
        "current").size()
    missed = verdicts[verdicts["status"] != "matched"].merge(records[["key", "name"]], on="key")
    missed["reason"] = [f"{reason} ({counts.get(key, 0):,} values not loaded)"
                        for reason, key in zip(missed["reason"], missed["key"], strict=True)]
    return missed


# --- values ---------------------------------------------------------------------------------


def _observations(cells, matched, datasets) -> tuple[pd.DataFrame, list[str]]:
    city = cells[(cells["level"] == places.CITY) & cells["value"].notna() & ~cells["doubled"]]
    uncoded = city[~city["indicator"].str.match(CODE)]
    notes = [f"{n:,} values of variable {label!r} not loaded: no Eurostat code is known for "
             "the label" for label, n in uncoded.groupby("indicator").size().items()]
    city = city[city["indicator"].str.match(CODE)].merge(
        matched[["key", "city_id"]], left_on="current", right_on="key")
    # One value per city, variable and year: where two boundary versions (C1, C2) or two
    # datasets give one, the newer boundary, then the first dataset, is kept.
    order = {name: n for n, name in enumerate(datasets["dataset_id"])}
    city = city.assign(version=city["spatial"].map(places.version),
                       order=city["dataset_id"].map(order))
    city = city.sort_values(["version", "order"], ascending=[False, True])
    kept = city.drop_duplicates(["city_id", "indicator", "period"])
    if dropped := len(city) - len(kept):
        notes.append(f"{dropped:,} values not loaded: another code or dataset gives the same "
                     "city, variable and year")
    observed = kept.rename(columns={"indicator": "code"})
    return observed[["city_id", "code", "period", "value", "flag", "dataset_id"]].reset_index(
        drop=True), notes


def _derived(observed: pd.DataFrame, formulas: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Derived indicators by Eurostat's formulas, where every input of the city and year is
    there (a lagged input, t-1, in the year before). A value's flag joins its inputs' flags."""
    published = set(observed["code"])
    values = observed.pivot(index=["city_id", "period"], columns="code", values="value")
    flags = observed.pivot(index=["city_id", "period"], columns="code", values="flag")
    home = observed.drop_duplicates("code").set_index("code")["dataset_id"]
    frames, computed, skipped = [], [], []
    for row in formulas.itertuples(index=False):
        if row.code in published:
            continue  # Eurostat's own value is loaded
        expression = derived(row.numerator, row.denominator)
        needed = inputs_of(expression)
        if {v.code for v in needed} - published:
            skipped.append(row.code)
            continue
        result = evaluate(expression, lambda v, frame=values: _aligned(frame, v))
        result = result[np.isfinite(result)]
        if result.empty:
            continue
        flag = _joined_flags([_aligned(flags, v).reindex(result.index) for v in needed])
        frames.append(pd.DataFrame({
            "city_id": result.index.get_level_values("city_id"),
            "code": row.code,
            "period": result.index.get_level_values("period"),
            "value": result.to_numpy(),
            "flag": flag.to_numpy(),
            "dataset_id": home[_first_variable(expression).code],
        }))
        computed.append(f"{row.code} ({len(result):,})")
    notes = []
    if computed:
        notes.append("derived indicators computed with Eurostat's formulas (urb_esms_an2), "
                     "values: " + ", ".join(computed))
    if skipped:
        notes.append(f"{len(skipped)} derived indicators not computed, their inputs not "
                     "being loaded: " + ", ".join(skipped))
    columns = ["city_id", "code", "period", "value", "flag", "dataset_id"]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns),
            notes)


def _aligned(frame: pd.DataFrame, variable: Variable) -> pd.Series:
    """The variable's values by (city, year), a lag of k years reading year t-k at year t."""
    series = frame[variable.code]
    if variable.lag:
        series = series.set_axis(pd.MultiIndex.from_arrays([
            series.index.get_level_values("city_id"),
            series.index.get_level_values("period") + variable.lag,
        ], names=["city_id", "period"]))
    return series.reindex(frame.index)


def _joined_flags(parts: list[pd.Series]) -> pd.Series:
    joined = parts[0].fillna("").astype(str)
    for part in parts[1:]:
        joined = joined + part.fillna("").astype(str)
    letters = {text: "".join(sorted(set(text))) or None for text in joined.unique()}
    return joined.map(letters)


def _first_variable(expression: Expression) -> Variable:
    while isinstance(expression, Operation):
        expression = expression.left
    return expression


# --- indicators -----------------------------------------------------------------------------


def _indicators(observation, indicator_names, formulas) -> pd.DataFrame:
    published = indicator_names.drop_duplicates("code").set_index("code")["name"]
    annex = formulas.set_index("code")
    labels = {code: label for label, code in LABELS.items()}
    home = observation.drop_duplicates("code").set_index("code")["dataset_id"]
    rows = []
    for code in sorted(observation["code"].unique()):
        formula = annex.loc[code] if code in annex.index else None
        fallback = f"Eurostat city statistics variable {code}"
        name = (published.get(code) or (formula["label"].strip() if formula is not None else None)
                or labels.get(code) or fallback)
        direction = -1 if LOWER_IS_BETTER.match(code) else 1
        description = f"Eurostat {code}, dataset {home[code]}. {LEVEL}"
        if formula is not None:
            description += (f" Computed by citybench with Eurostat's formula "
                            f"({formula['numerator']}) / ({formula['denominator']}) of "
                            f"urb_esms_an2; its flag joins the inputs' flags.")
        if not LOWER_IS_BETTER.match(code):
            description += " Direction not judged: +1 by default."
        unit = _unit(code, formula) if name != fallback else UNIT_UNKNOWN
        rows.append((_indicator_id(code), name, unit, direction,
                     _domain(code), description))
    frame = pd.DataFrame(rows, columns=["indicator_id", "name", "unit", "direction", "domain",
                                        "description"])
    return frame.assign(source_id=SOURCE_ID)


def _unit(code: str, formula) -> str:
    if formula is not None:
        scale = re.search(r"\*\s*(\d+)\s*$", formula["numerator"])
        return f"ratio x {scale[1]}" if scale else "ratio"
    return next((unit for prefix, unit in UNITS.items() if code.startswith(prefix)),
                UNIT_IN_LABEL)


def _domain(code: str) -> str:
    return next((domain for prefix, domain in sorted(DOMAINS.items(), key=lambda d: -len(d[0]))
                 if code.startswith(prefix)), "city statistics")
