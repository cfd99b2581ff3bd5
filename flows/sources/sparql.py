"""SPARQL 1.1 query results in JSON (W3C "SPARQL 1.1 Query Results JSON Format") as a frame."""

from __future__ import annotations

import re

import pandas as pd

from warehouse.json_document import read_json
from warehouse.parse_error import ParseError

XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC_TYPES = {
    XSD + name
    for name in ("integer", "decimal", "double", "float", "int", "long", "nonNegativeInteger")
}
DATE_TYPE = XSD + "dateTime"
WKT_TYPE = "http://www.opengis.net/ont/geosparql#wktLiteral"
# A point on Earth is 'Point(lon lat)'; a point on another globe is prefixed with the globe's
# IRI (as Wikidata writes them).
POINT = re.compile(r"^\s*(<[^>]*>\s*)?Point\(\s*(\S+)\s+(\S+)\s*\)\s*$", re.IGNORECASE)
DATE = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T")


def read_results(file: str, content: bytes, required: set[str], prefix: str = "") -> pd.DataFrame:
    """The bindings of a result as a frame, one column per variable of its head.

    A variable a binding leaves unbound (OPTIONAL) is missing, not empty. IRIs lose `prefix`
    (Wikidata's entities become their QID); numbers (xsd:integer, decimal, double) become
    floats; points become (longitude, latitude) pairs; dates stay ISO text; language-tagged
    labels stay text.
    """
    document = read_json(content, file)
    variables = _at(file, document, ("head", "vars"), list)
    bindings = _at(file, document, ("results", "bindings"), list)
    if not all(isinstance(v, str) for v in variables):
        raise ParseError(file, "$.head.vars", "variable names", variables)
    if missing := sorted(required - set(variables)):
        raise ParseError(file, "$.head.vars", f"the variables {', '.join(missing)}", variables)
    rows = []
    for number, binding in enumerate(bindings):
        if not isinstance(binding, dict):
            raise ParseError(file, f"$.results.bindings[{number}]", "an object", binding)
        rows.append({
            var: _term(file, f"$.results.bindings[{number}].{var}", binding[var], prefix)
            for var in variables
            if var in binding
        })
    return pd.DataFrame(rows, columns=variables, index=pd.RangeIndex(len(rows)), dtype=object)


def _at(file: str, document: object, path: tuple[str, ...], kind: type):
    found = document
    for step in path:
        found = found.get(step) if isinstance(found, dict) else None
    if not isinstance(found, kind):
        raise ParseError(file, "$." + ".".join(path), f"a JSON {kind.__name__}", found)
    return found


def _term(file: str, path: str, term: object, prefix: str):
    if not (
        isinstance(term, dict)
        and isinstance(term.get("value"), str)
        and term.get("type") in {"uri", "literal", "typed-literal", "bnode"}
    ):
        raise ParseError(file, path, "an RDF term {type, value}", term)
    value, datatype = term["value"], term.get("datatype")
    if term["type"] == "uri":
        return value.removeprefix(prefix)
    if datatype in NUMERIC_TYPES:
        try:
            return float(value)
        except ValueError:
            raise ParseError(file, path, f"a number ({datatype})", value) from None
    if datatype == WKT_TYPE:
        return _point(file, path, value)
    if datatype == DATE_TYPE and not DATE.match(value):
        raise ParseError(file, path, "an xsd:dateTime", value)
    return value


def _point(file: str, path: str, value: str) -> tuple[float, float] | None:
    point = POINT.match(value)
    if point is None:
        raise ParseError(file, path, "a WKT point 'Point(lon lat)'", value)
    if point.group(1):
        return None  # a point on another globe (the Moon, Mars) is no place on Earth
    try:
        return (float(point.group(2)), float(point.group(3)))
    except ValueError:
        raise ParseError(file, path, "a WKT point 'Point(lon lat)'", value) from None
