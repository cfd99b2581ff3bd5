"""`citybench practices [CITY] [--outcome failed]`: the practices and lessons the warehouse
holds (loaded from users' files, docs/practices.md), what failed as much as what worked."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from app.lookup import candidate_lines, find_city
from indicators.names import CityNotFound
from warehouse import practices as recorded
from warehouse import spreadsheet_csv
from warehouse.connect import WarehouseMissing, reading


def run(args: argparse.Namespace, db: Path) -> int:
    try:
        with reading(db) as con:
            city_ids = None if args.city is None else [find_city(con, args.city)[0]]
            found = recorded.practices(con, city_ids, args.outcome, args.dimension)
    except WarehouseMissing as error:  # none yet, or one published before the search's index
        print(f"citybench practices: {error}", file=sys.stderr)
        return 1
    except CityNotFound as error:
        print("\n".join([f"citybench practices: {error}",
                         *candidate_lines(error.candidates)]), file=sys.stderr)
        return 1
    if args.format == "csv":
        print(spreadsheet_csv.to_csv([row | {"indicators": ";".join(row["indicators"])}
                                      for row in found], columns=recorded.COLUMNS).rstrip("\n"))
    elif args.format == "json":
        print(json.dumps(found, indent=2, ensure_ascii=False, default=str))
    else:
        print(_table(found, args))
    return 0


def _table(found, args: argparse.Namespace) -> str:
    asked = " ".join(part for part in (args.outcome, "practices", args.dimension and
                                       f"on {args.dimension}") if part)
    if not found:
        return f"no {asked} recorded" + (f" for {args.city}" if args.city else "")
    lines = []
    for row in found:
        lines += [f"{row['city_name']} ({row['city_id']}), {row['year']}: {row['title']} "
                  f"[{row['outcome']}]",
                  *textwrap.wrap(f"lesson: {row['lesson']}", 96, initial_indent="  ",
                                 subsequent_indent="    "),
                  f"  {row['source_url']} ({row['licence']})"]
    return "\n".join(lines)
