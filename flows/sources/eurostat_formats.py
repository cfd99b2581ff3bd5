"""Readers of the formats Eurostat publishes city statistics in, each to one frame of cells
(indicator, spatial, period, value, flag) so every format gives the same cells.

As Eurostat documents them (consulted 2026):
- JSON-stat 2.0 from the Statistics API,
  https://ec.europa.eu/eurostat/api/dissemination/statistics/1.0/data/{code}?indic_ur=..
  (https://ec.europa.eu/eurostat/web/user-guides/data-browser/api-data-access/
  api-detailed-guidelines/api-statistics; json-stat.org/format): values sit in a grid of the
  dimensions in `id` order, `size` positions each, the last dimension varying fastest; `value`
  and `status` are arrays or objects keyed by the flat index as a string; a status may carry
  the confidentiality apart after '|' ('|C').
- SDMX-CSV and TSV from the SDMX 2.1 API, .../sdmx/2.1/data/{code}?format=SDMX-CSV|TSV
  ("API - FAQ - TSV data format", https://wikis.ec.europa.eu/x/6YGBBg): TSV holds one series
  per line, `freq,indic_ur,cities\\TIME_PERIOD` then one column per period with a trailing
  space; a cell is `value flags` or `:` (not available) with optional flags (`: c`
  confidential). The pre-2023 bulk download had the same layout without freq
  (`indic_ur,cities\\time`, periods in descending order).
- The legacy Data Explorer CSV export: TIME, CITIES, INDIC_UR, Value, Flag and Footnotes, with
  labels instead of codes.
- Large requests: above 500,000 cells Eurostat does not send data but queues the extraction
  (https://wikis.ec.europa.eu/display/EUROSTATHELP/API+-+Detailed+guidelines+-+Asynchronous+API):
  the Statistics API answers HTTP 200 with {"warning": {"status": 413, "label":
  "ASYNCHRONOUS_RESPONSE..."}}, the SDMX API a SOAP envelope holding a syncResponse with the
  queued request's id. We fail the load with a line that says to filter, rather than poll:
  a refresh should not wait hours on a queue, and a filtered request is answered at once.

Every reader raises ParseError (file, position, expected, found) on bytes that are not what
the format promises, and EurostatRefusal when Eurostat answered with a refusal or a queue
ticket instead of data.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass, field

import pandas as pd

from flows.sources.eurostat_formulas import FormulaError, derived
from warehouse.csv_records import csv_records
from warehouse.json_document import read_json
from warehouse.parse_error import ParseError
from warehouse.text import require_final_line_end, utf8_text
from warehouse.workbook import ZIP, sheet_frame

CELL_COLUMNS = ["indicator", "spatial", "period", "value", "flag"]
INDICATOR_DIMENSION, SPATIAL_DIMENSION = "indic_ur", "cities"
_TIME_NAMES = {"time", "time_period"}
_NUMBER = r"-?\d+(?:\.\d+)?"
_TSV_CELL = re.compile(rf"^(?P<value>:|{_NUMBER})(?:\s+(?P<flag>[a-z]+))?$")
_FLAGS = re.compile(r"^[a-z]*$")


class EurostatRefusal(RuntimeError):
    """Eurostat answered a data request with no data: a queue ticket or an error."""


@dataclass
class Table:
    """One dataset as a file gives it."""

    cells: pd.DataFrame  # CELL_COLUMNS
    by_label: bool = False  # spatial and indicator are labels, not codes (Data Explorer)
    place_names: dict[str, str] = field(default_factory=dict)  # code -> label
    indicator_names: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    last_update: str | None = None


def read_dataset(file: str, body: bytes, indicator_codes: dict[str, str]) -> Table:
    """A dataset in whichever of Eurostat's formats the body is: the format is read from the
    content, since a mirror or a configured URL may serve any of them.

    indicator_codes maps Eurostat's variable labels to their codes, for label exports."""
    text = _text(file, body)
    start = text.lstrip()[:1]
    first_line = text.split("\n", 1)[0].strip().strip("\ufeff")
    if start == "{":
        return _json_stat(file, text)
    if start == "<":
        raise _xml_refusal(file, text)
    if first_line.startswith("DATAFLOW"):
        return _sdmx_csv(file, text)
    if "\\" in first_line.split("\t", 1)[0] and "\t" in first_line:
        return _tsv(file, text)
    if first_line.replace('"', "").startswith("TIME,CITIES,INDIC_UR"):
        return _data_explorer(file, text, indicator_codes)
    raise ParseError(
        file, "line 1",
        "JSON-stat, an SDMX-CSV header (DATAFLOW,...), a TSV header (...\\TIME_PERIOD) or a "
        "Data Explorer header (TIME,CITIES,INDIC_UR,...)",
        first_line,
    )


def read_codelist(file: str, body: bytes) -> pd.DataFrame:
    """code, name of each spatial unit: the SDMX code list as TSV (`CODE<TAB>label` lines) or
    the Urban Audit code list CSV (UA_CODE_2017, NAME, ...)."""
    text = _text(file, body)
    first_line = text.split("\n", 1)[0]
    if "UA_CODE" in first_line.upper():
        rows = _csv_rows(file, text, ragged=True)
        header = [h.strip().upper() for h in rows[0][1]]
        code_at = next(i for i, h in enumerate(header) if h.startswith("UA_CODE"))
        if "NAME" not in header:
            raise ParseError(file, "line 1", "a NAME column", rows[0][1])
        name_at = header.index("NAME")
        pairs = []
        for line, row in rows[1:]:
            if len(row) <= max(code_at, name_at):
                raise ParseError(file, f"line {line}", f"at least {max(code_at, name_at) + 1} "
                                 "columns", row)
            pairs.append((line, row[code_at], row[name_at]))
    else:
        require_final_line_end(text, file)
        pairs = []
        for line, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            code, tab, labels = raw.partition("\t")
            if not tab:
                raise ParseError(file, f"line {line}", "a code, a tab and a label", raw)
            pairs.append((line, code, labels.split("\t")[0]))
    frame = []
    for line, code, name in pairs:
        code = re.sub(r"[\s\u00a0]+", "", code)
        if not re.fullmatch(r"[A-Z0-9_]+", code) or not name.strip():
            raise ParseError(file, f"line {line}", "a code of capital letters and digits and a "
                             "name", f"{code} {name}")
        frame.append((code, name.strip()))
    if not frame:
        raise ParseError(file, "end of file", "at least one code")
    return pd.DataFrame(frame, columns=["code", "name"]).drop_duplicates("code")


def read_formulas(file: str, body: bytes) -> pd.DataFrame:
    """code, label, numerator, denominator of each derived indicator in the metadata annex
    (urb_esms_an2), as Eurostat's spreadsheet or a CSV export of it. Each formula is parsed
    here, so a formula outside the grammar fails the file at its line."""
    if body.startswith(ZIP):
        sheet = sheet_frame(body, file, 0, header=None, dtype=str)
        rows = [(n + 1, ["" if pd.isna(c) else str(c) for c in r])
                for n, r in enumerate(sheet.itertuples(index=False))]
    else:
        rows = _csv_rows(file, _text(file, body), ragged=True)
    at = next((n for n, (_, row) in enumerate(rows)
               if {"code", "label"} <= {c.strip().casefold() for c in row}), None)
    if at is None:
        raise ParseError(file, "header", "a row naming the columns CODE and LABEL")
    line, row = rows[at]
    header = [c.strip().casefold() for c in row]
    numerator = next((i for i, h in enumerate(header) if "nominator" in h or "numerator" in h),
                     None)
    denominator = next((i for i, h in enumerate(header) if "denominator" in h), None)
    if numerator is None or denominator is None:
        raise ParseError(file, f"line {line}", "numerator and denominator columns", row)
    columns = [header.index("code"), header.index("label"), numerator, denominator]
    formulas = []
    for line, row in rows[at + 1:]:
        if not any(c.strip() for c in row):
            continue
        if len(row) <= max(columns):
            raise ParseError(file, f"line {line}", f"{max(columns) + 1} columns", row)
        code, label, top, bottom = (row[i].strip() for i in columns)
        if not re.fullmatch(r"[A-Z]{2}\d{4}I", code):
            raise ParseError(file, f"line {line}", "an indicator code such as CR1003I", code)
        try:
            derived(top, bottom)
        except FormulaError as error:
            raise ParseError(file, f"line {line}", f"a formula of variable codes, numbers, "
                             f"+ - * / and parentheses ({error})") from None
        formulas.append((code, label, top, bottom))
    return pd.DataFrame(formulas, columns=["code", "label", "numerator", "denominator"])


# --- bytes and text ---------------------------------------------------------------------


def _text(file: str, body: bytes) -> str:
    if body[:2] == b"\x1f\x8b":  # the SDMX API sends gzip when asked for compressed=true
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as error:
            raise ParseError(file, "gzip stream", "a complete gzip stream", error) from None
    return utf8_text(body, file)


def _csv_rows(file: str, text: str, ragged: bool = False) -> list[tuple[int, list[str]]]:
    """(line, record) of every record; all as wide as the header unless `ragged`. Eurostat
    ends every line: a last line without an end was cut short."""
    require_final_line_end(text, file)
    records = csv_records(text, file, delimiter=",", ragged=ragged)
    return list(zip(records.lines, records.rows, strict=True))


def _number(file: str, position: str, text: str) -> float:
    if not re.fullmatch(_NUMBER, text):
        raise ParseError(file, position, "a number", text)
    return float(text)


def _flags(file: str, position: str, text: str | None, confidentiality: str = "") -> str | None:
    """Eurostat's observation flags (letters: e estimated, p provisional, b break, c
    confidential, ...), with a confidential status given apart (CONF_STATUS 'C') folded in."""
    flags = (text or "").strip()
    if not _FLAGS.match(flags):
        raise ParseError(file, position, "flag letters (e, p, b, c, ...)", text)
    if confidentiality.strip().upper() == "C" and "c" not in flags:
        flags += "c"
    return flags or None


def _once(file: str, seen: dict, key: tuple, line: int) -> None:
    """A format keyed by codes gives each variable, place (and year) once."""
    if key in seen:
        raise ParseError(file, f"line {line}", f"one entry per variable, place and year, not a "
                         f"repeat of line {seen[key]}", ",".join(map(str, key)))
    seen[key] = line


def _frame(rows: list[tuple]) -> pd.DataFrame:
    cells = pd.DataFrame(rows, columns=CELL_COLUMNS)
    return cells.astype({"period": "int64", "value": "float64"})


def _period(file: str, position: str, text: str) -> int:
    text = text.strip()
    if not re.fullmatch(r"\d{4}", text):
        raise ParseError(file, position, "an annual period (a four-digit year)", text)
    return int(text)


# --- refusals -----------------------------------------------------------------------------


def _deferred(file: str, ticket: str | None) -> EurostatRefusal:
    key = f" under key {ticket}" if ticket else ""
    return EurostatRefusal(
        f"{file}: Eurostat queued the request for asynchronous delivery{key} instead of sending "
        "data (it does so above 500,000 cells); ask for less: name fewer indic_ur codes or add "
        "sinceTimePeriod= in [sources.eurostat.urls]"
    )


def _xml_refusal(file: str, text: str) -> Exception:
    if re.search(r"<(\w+:)?syncResponse\b", text) or "<queued>" in text:
        ticket = re.search(r"<id>\s*([^<\s]+)\s*</id>", text)
        return _deferred(file, ticket[1] if ticket else None)
    if fault := re.search(r"<faultstring>(.*?)</faultstring>", text, re.S):
        return EurostatRefusal(f"{file}: Eurostat refused the request: {fault[1].strip()}")
    return ParseError(file, "line 1", "data, not an XML document", text[:60])


def _json_refusal(file: str, document: dict) -> None:
    warning = document.get("warning")
    if isinstance(warning, dict) and (
        str(warning.get("status")) == "413" or "ASYNCHRONOUS" in str(warning.get("label"))
    ):
        raise _deferred(file, None)
    errors = document.get("error")
    if errors:
        first = errors[0] if isinstance(errors, list) else errors
        label = first.get("label") if isinstance(first, dict) else first
        raise EurostatRefusal(f"{file}: Eurostat refused the request: {label}")


# --- JSON-stat 2.0 --------------------------------------------------------------------------


def _json_stat(file: str, text: str) -> Table:
    document = read_json(text, file)
    if not isinstance(document, dict):
        raise ParseError(file, "$", "a JSON-stat dataset object", type(document).__name__)
    _json_refusal(file, document)
    if document.get("class", "dataset") != "dataset":
        raise ParseError(file, "$.class", "'dataset'", document.get("class"))
    ids, sizes = document.get("id"), document.get("size")
    if not (isinstance(ids, list) and isinstance(sizes, list) and len(ids) == len(sizes)
            and all(isinstance(i, str) for i in ids)
            and all(isinstance(s, int) and s >= 0 for s in sizes)):
        raise ParseError(file, "$.id/$.size", "lists of dimension names and sizes of one length",
                         f"{ids} / {sizes}")
    if not isinstance(document.get("dimension"), dict):
        raise ParseError(file, "$.dimension", "an object of dimensions")
    dimensions = {name: _categories(file, document, name, size) for name, size in zip(ids, sizes,
                                                                                      strict=True)}
    roles = _roles(file, ids, dimensions)
    total = 1
    for size in sizes:
        total *= size
    values = _entries(file, document, "value", total)
    statuses = _entries(file, document, "status", total)
    strides = [1] * len(ids)
    for at in range(len(ids) - 2, -1, -1):
        strides[at] = strides[at + 1] * sizes[at + 1]
    rows = []
    for flat in sorted(set(values) | set(statuses)):
        codes = {}
        rest = flat
        for name, stride in zip(ids, strides, strict=True):
            position, rest = divmod(rest, stride)
            codes[name] = dimensions[name][0][position]
        value = values.get(flat)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ParseError(file, f"$.value[{flat}]", "a number or null", value)
        status = statuses.get(flat)
        if status is not None and not isinstance(status, str):
            raise ParseError(file, f"$.status[{flat}]", "a status string", status)
        flag_text, _, confidentiality = (status or "").partition("|")
        flag = _flags(file, f"$.status[{flat}]", flag_text, confidentiality)
        if value is None and flag is None:
            continue
        rows.append((codes[roles["indicator"]], codes[roles["spatial"]],
                     _period(file, f"$.dimension.{roles['time']}", codes[roles["time"]]),
                     value, flag))
    labels = {role: dimensions[roles[role]][1] for role in ("indicator", "spatial")}
    return Table(_frame(rows), place_names=labels["spatial"],
                 indicator_names=labels["indicator"],
                 title=document.get("label") if isinstance(document.get("label"), str) else None,
                 last_update=document.get("updated") if isinstance(document.get("updated"),
                                                                   str) else None)


def _categories(file, document, name, size) -> tuple[list[str], dict[str, str]]:
    """The codes of a dimension in grid order, and their labels."""
    where = f"$.dimension.{name}.category"
    category = document["dimension"].get(name)
    category = category.get("category") if isinstance(category, dict) else None
    if not isinstance(category, dict):
        raise ParseError(file, where, "a category object")
    index, labels = category.get("index"), category.get("label") or {}
    if index is None and isinstance(labels, dict) and len(labels) == 1:
        index = list(labels)  # JSON-stat lets a single category omit its index
    if isinstance(index, list):
        codes = [str(c) for c in index]
    elif isinstance(index, dict) and all(isinstance(p, int) for p in index.values()):
        codes = [None] * len(index)
        for code, position in index.items():
            if 0 <= position < len(codes):
                codes[position] = code
    else:
        raise ParseError(file, f"{where}.index", "an array of codes or an object of positions",
                         index)
    if len(codes) != size or None in codes:
        raise ParseError(file, f"{where}.index", f"{size} codes at positions 0..{size - 1}",
                         index)
    if not isinstance(labels, dict):
        raise ParseError(file, f"{where}.label", "an object of labels", labels)
    return codes, {str(code): str(label) for code, label in labels.items()}


def _roles(file, ids, dimensions) -> dict[str, str]:
    roles = {"indicator": INDICATOR_DIMENSION, "spatial": SPATIAL_DIMENSION,
             "time": next((n for n in ids if n.lower() in _TIME_NAMES), "time")}
    for role, name in roles.items():
        if name not in dimensions:
            raise ParseError(file, "$.id", f"a {name} dimension ({role})", ids)
    for name in ids:
        codes = dimensions[name][0]
        if name in roles.values():
            continue
        if len(codes) != 1 or (name.lower() == "freq" and codes != ["A"]):
            raise ParseError(file, f"$.dimension.{name}", "a single position (annual data of "
                             "one kind)", codes[:5])
    return roles


def _entries(file, document, key, total) -> dict[int, object]:
    """`value` or `status` as {flat index: entry}; arrays hold null where nothing is."""
    entries = document.get(key)
    if entries is None:
        return {}
    if isinstance(entries, str) and key == "status":  # one status for every cell
        return dict.fromkeys(range(total), entries)
    if isinstance(entries, list):
        if len(entries) != total:
            raise ParseError(file, f"$.{key}", f"{total} entries (the product of the sizes)",
                             len(entries))
        return {i: e for i, e in enumerate(entries) if e is not None}
    if isinstance(entries, dict):
        found = {}
        for index, entry in entries.items():
            if not index.isdigit() or int(index) >= total:
                raise ParseError(file, f"$.{key}[{index!r}]", f"an index below {total}", index)
            found[int(index)] = entry
        return found
    raise ParseError(file, f"$.{key}", "an array or an object", type(entries).__name__)


# --- SDMX-CSV -----------------------------------------------------------------------------


def _sdmx_csv(file: str, text: str) -> Table:
    rows = _csv_rows(file, text)
    header = [h.strip() for h in rows[0][1]]
    required = [INDICATOR_DIMENSION, SPATIAL_DIMENSION, "TIME_PERIOD", "OBS_VALUE"]
    if missing := [c for c in required if c not in header]:
        raise ParseError(file, "line 1", f"columns {', '.join(required)}", missing)
    at = {name: header.index(name) for name in header}
    cells, places, indicators, updated, seen = [], {}, {}, None, {}
    for line, row in rows[1:]:
        where = f"line {line}"
        get = {name: row[i].strip() for name, i in at.items()}
        if "freq" in get and get["freq"].split(":")[0] != "A":
            raise ParseError(file, where, "annual data (freq A)", get["freq"])
        indicator, _, indicator_label = get[INDICATOR_DIMENSION].partition(":")
        spatial, _, place_label = get[SPATIAL_DIMENSION].partition(":")  # labels=both
        if place_label:
            places[spatial] = place_label
        if indicator_label:
            indicators[indicator] = indicator_label
        value = get["OBS_VALUE"]
        flag = _flags(file, where, get.get("OBS_FLAG"), get.get("CONF_STATUS", ""))
        number = None if value in ("", ":") else _number(file, where, value)
        updated = updated or get.get("LAST UPDATE") or None
        period = _period(file, where, get["TIME_PERIOD"])
        _once(file, seen, (indicator, spatial, period), line)
        if number is not None or flag is not None:
            cells.append((indicator, spatial, period, number, flag))
    return Table(_frame(cells), place_names=places, indicator_names=indicators,
                 last_update=updated)


# --- TSV (SDMX API and the old bulk download) ----------------------------------------------


def _tsv(file: str, text: str) -> Table:
    require_final_line_end(text, file)  # Eurostat ends every line: else the file was cut
    lines = text.split("\n")
    header = lines[0].rstrip("\r").split("\t")
    dimensions = header[0].split("\\")[0].split(",")
    if INDICATOR_DIMENSION not in dimensions or SPATIAL_DIMENSION not in dimensions:
        raise ParseError(file, "line 1", f"dimensions {INDICATOR_DIMENSION} and "
                         f"{SPATIAL_DIMENSION} before the backslash", header[0])
    periods = [_period(file, f"line 1 column {n + 2}", p) for n, p in enumerate(header[1:])]
    indicator_at = dimensions.index(INDICATOR_DIMENSION)
    spatial_at = dimensions.index(SPATIAL_DIMENSION)
    freq_at = dimensions.index("freq") if "freq" in dimensions else None
    cells, seen = [], {}
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise ParseError(file, f"line {number}", f"{len(header)} tab-separated cells",
                             len(fields))
        key = fields[0].split(",")
        if len(key) != len(dimensions):
            raise ParseError(file, f"line {number}", f"{len(dimensions)} comma-separated codes",
                             fields[0])
        if freq_at is not None and key[freq_at] != "A":
            raise ParseError(file, f"line {number}", "annual data (freq A)", key[freq_at])
        _once(file, seen, (key[indicator_at], key[spatial_at]), number)
        for column, (period, cell) in enumerate(zip(periods, fields[1:], strict=True), start=2):
            found = _TSV_CELL.match(cell.strip())
            if found is None:
                raise ParseError(file, f"line {number} column {column}",
                                 "a number or ':', optionally followed by flag letters", cell)
            value = None if found["value"] == ":" else float(found["value"])
            if value is not None or found["flag"]:
                cells.append((key[indicator_at], key[spatial_at], period, value, found["flag"]))
    return Table(_frame(cells))


# --- the legacy Data Explorer CSV export ----------------------------------------------------


def _data_explorer(file: str, text: str, indicator_codes: dict[str, str]) -> Table:
    """Labels, not codes: the export names cities ('Wien', 'Lisboa (greater city)') and
    variables ('Population on the 1st of January, total'). Variables are coded by their
    label; an unknown label is kept as it is, to be reported."""
    rows = _csv_rows(file, text)
    header = [h.strip() for h in rows[0][1]]
    expected = ["TIME", "CITIES", "INDIC_UR", "Value"]
    if header[:4] != expected:
        raise ParseError(file, "line 1", ", ".join(expected), header)
    codes = {label.casefold(): code for label, code in indicator_codes.items()}
    cells = []
    for line, row in rows[1:]:
        where = f"line {line}"
        time, place, indicator, value = (c.strip() for c in row[:4])
        flag = _flags(file, where, row[4] if len(row) > 4 else None)
        number = None if value == ":" else _number(file, where, value)
        if number is not None or flag is not None:
            cells.append((codes.get(indicator.casefold(), indicator), place,
                          _period(file, where, time), number, flag))
    return Table(_frame(cells), by_label=True)
