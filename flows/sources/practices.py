"""Practices and lessons: what a city tried, how it turned out, and what was learned.

Cities learn from each other's practices, and what failed teaches as much as what worked. Users
list practice files where they list their data files ([sources.user] files, user_files.py);
a file holds practices when it is YAML (.yaml, .yml), or a CSV or XLSX table whose header has
the columns `outcome` and `lesson`. One practice per row (or YAML item):

    city        a canonical id (gn:3173435) or a city's name
    country     optional: ISO 3166 alpha-2 code of the city named, to tell namesakes apart
    title       what the practice is called
    year        the year it refers to
    dimension   optional: a framework dimension id, or free text
    indicators  optional: indicator ids; in a CSV or XLSX cell separated by ';'
    outcome     worked, mixed or failed
    lesson      what was learned
    source_url  an http(s) URL where the practice is described
    licence     of that description ("CC BY 4.0", "fair quotation; link only")

A YAML file is a list of mappings, or a mapping whose `practices:` is one. It is read with
yaml.safe_load: a tag that would build a Python object is refused, never run. Rows are checked
by the contract PracticeRows like every user file's (one line per bad row, with its position,
field and what was expected; the good rows go on); a file that cannot be read at all is a
ParseError, which fails the load of the users' files and keeps what they held before.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
import yaml
from pandera.typing import Series

from flows.sources import resolve
from flows.user_data import (
    FileRows,
    cell_text,
    check_header,
    file_suffix,
    header_columns,
    read_table,
)
from warehouse.parse_error import ParseError
from warehouse.practices import OUTCOMES
from warehouse.redact import redact_url
from warehouse.text import utf8_text

REQUIRED = ("city", "title", "year", "outcome", "lesson", "source_url", "licence")
OPTIONAL = ("country", "dimension", "indicators")
# the columns that make a CSV or XLSX table one of practices rather than of values
MARKERS = frozenset({"outcome", "lesson"})
YAML_SUFFIXES = (".yaml", ".yml")
TABLE_SUFFIXES = (".csv", ".xlsx")
COLUMNS = ["file", "position", *REQUIRED, *OPTIONAL, "fields", "header_fields"]
INDICATOR_LIST = r"[a-z0-9_]+(;[a-z0-9_]+)*"  # whole text: ids as the warehouse has them


class PracticeRows(FileRows):
    """A practice file's rows, cell text as read: the contract of the practices format."""

    title: Series[str] = pa.Field(str_length={"min_value": 1})
    # nullable type, so that an empty cell is reported as empty, not as a failed conversion
    year: Series[pd.Int32Dtype] = pa.Field(ge=1800, le=2100)
    dimension: Series[str] = pa.Field(nullable=True)
    indicators: Series[str] = pa.Field(nullable=True)
    outcome: Series[str] = pa.Field(isin=list(OUTCOMES))
    lesson: Series[str] = pa.Field(str_length={"min_value": 1})
    source_url: Series[str]
    licence: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        name = "practice rows"
        unique = ["file", "city", "country", "title", "year"]

    @pa.check("source_url", error="an http:// or https:// URL (no spaces)")
    @classmethod
    def web_address(cls, url: Series[str]) -> Series[bool]:
        return url.str.fullmatch(r"https?://[^\s/]+\S*", na=False)

    @pa.check("indicators", error="indicator ids (a-z, 0-9, _) separated by ;")
    @classmethod
    def indicator_ids(cls, indicators: Series[str]) -> Series[bool]:
        return indicators.str.fullmatch(INDICATOR_LIST, na=False)


@dataclass
class PracticeFile:
    name: str
    rows: pd.DataFrame  # COLUMNS as text; for PracticeRows to check
    missing: int = 0  # as a file of values counts its rows without a value: none here


def is_practice_file(name: str, header: list | None = None) -> bool:
    """YAML is always practices; a table is when its header has the practice columns."""
    if file_suffix(name) in YAML_SUFFIXES:
        return True
    return header is not None and set(header_columns(header)) >= MARKERS


def read_practice_file(name: str, content: bytes) -> PracticeFile:
    """The practices of one file as text; raises ParseError when it cannot be read."""
    if file_suffix(name) in YAML_SUFFIXES:
        return practices_of_yaml(name, content)
    return practices_of_table(name, *read_table(name, content, REQUIRED))


def practices_of_table(name: str, header: list, body: list[list], where) -> PracticeFile:
    """A CSV or XLSX table read by flows/user_data.read_table, as practice rows."""
    columns = header_columns(header)
    check_header(name, where(0), columns, REQUIRED, OPTIONAL)
    rows = [{**dict(zip(columns, map(cell_text, cells), strict=False)), "file": name,
             "position": where(i), "fields": len(cells), "header_fields": len(columns)}
            for i, cells in enumerate(body, start=1)]
    return PracticeFile(name, _frame(rows))


def practices_of_yaml(name: str, content: bytes) -> PracticeFile:
    items = _yaml_items(name, utf8_text(content, name, "UTF-8 YAML"))
    rows = []
    for number, item in enumerate(items, start=1):
        where = f"item {number}"
        if not isinstance(item, dict):
            raise ParseError(name, where, "a mapping of a practice's fields", item)
        keys = [str(key).strip().casefold() for key in item]
        if unknown := [key for key in keys if key not in (*REQUIRED, *OPTIONAL)]:
            raise ParseError(name, where, f"the fields {', '.join(REQUIRED)} (and optionally "
                             f"{', '.join(OPTIONAL)})", "unknown " + ", ".join(unknown))
        row = {key: _yaml_text(key, value)
               for key, value in zip(keys, item.values(), strict=True)}
        # a mapping has no ragged rows: every item is whole
        rows.append({**row, "file": name, "position": where, "fields": 1, "header_fields": 1})
    return PracticeFile(name, _frame(rows))


def _yaml_items(name: str, text: str) -> list:
    try:
        document = yaml.safe_load(text)  # plain values only: no tag builds an object
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the file"
        expected = ("YAML of plain values (no tags that build objects)"
                    if isinstance(error, yaml.constructor.ConstructorError) else "well-formed YAML")
        raise ParseError(name, where, expected, error.problem) from None
    except yaml.YAMLError as error:
        raise ParseError(name, "the file", "well-formed YAML", error) from None
    if isinstance(document, dict) and list(document) == ["practices"]:
        document = document["practices"]
    if not isinstance(document, list):
        raise ParseError(name, "line 1", "a list of practices, or a mapping with a "
                         "practices: list", type(document).__name__)
    return document


def _yaml_text(key: str, value: object) -> str | None:
    """A YAML value as the text a table's cell would hold: a list of indicators as 'a;b'."""
    if key == "indicators" and isinstance(value, list):
        return ";".join(text for text in map(cell_text, value) if text) or None
    return cell_text(value)


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS).astype(
        {c: "object" for c in COLUMNS if c not in ("fields", "header_fields")})
    frame["country"] = frame["country"].map(lambda c: c.upper() if isinstance(c, str) else c)
    # "a; b" as people type it is the list a;b
    frame["indicators"] = frame["indicators"].map(
        lambda c: ";".join(part.strip() for part in c.split(";")) if isinstance(c, str) else c)
    return frame


def conform_practices(rows: pd.DataFrame, verdicts: pd.DataFrame, source_id: str
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The practice rows whose city was found, as the `practice` table holds them, and the
    others, each with its file and position (Conformed.unresolved). `verdicts`: a verdict per
    (city, country), as the users' files resolve them. The first practice of a city, title and
    year stands; a later one (another file, another name of the city) is reported."""
    resolved = rows.merge(verdicts, on=["city", "country"], how="left")
    where = resolved["file"] + ", " + resolved["position"]
    matched = resolved[resolved["status"] == "matched"]
    repeated = matched.duplicated(["city_id", "title", "year"])
    kept, doubles = matched[~repeated], matched[repeated]
    practice = pd.DataFrame({
        "city_id": kept["city_id"], "title": kept["title"], "year": kept["year"],
        "dimension": kept["dimension"], "indicators": kept["indicators"],
        "outcome": kept["outcome"], "lesson": kept["lesson"],
        # a credential pasted into a link (user-info, ?token=) is never stored or shown
        "source_url": kept["source_url"].map(redact_url),
        "licence": kept["licence"], "source_id": source_id, "dataset_id": kept["file"],
    })
    first_at = where[kept.index].set_axis(
        pd.MultiIndex.from_frame(kept[["city_id", "title", "year"]])).to_dict()
    unmatched = resolved[resolved["status"] != "matched"]
    unresolved = pd.concat([
        resolve.unresolved(where[unmatched.index], unmatched["city"], unmatched["status"],
                           unmatched["reason"]),
        resolve.unresolved(
            where[doubles.index], doubles["city"], "duplicate",
            [f"{city} already has the practice {title!r} ({year}) from "
             f"{first_at[(city, title, year)]}"
             for city, title, year in zip(doubles["city_id"], doubles["title"],
                                          doubles["year"], strict=True)]),
    ], ignore_index=True)
    return practice, unresolved
