"""Regenerate the README's screenshot from a warehouse: `python docs/screenshot.py [DB]`.

Starts the real app with `citybench app`, opens Lagos's city page in Debian's Chromium and
saves docs/screenshot.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app_fixtures import screenshot_app  # noqa: E402
from warehouse.location import resolve_db  # noqa: E402


def main() -> None:
    db = resolve_db(sys.argv[1] if len(sys.argv) > 1 else None).absolute()
    con = duckdb.connect(str(db), read_only=True)
    lagos = con.execute("SELECT city_id FROM city WHERE name = 'Lagos' AND country_iso2 = 'NG'"
                        ).fetchone()[0]
    con.close()
    out = screenshot_app(db, ROOT / "docs" / "screenshot.png", f"city?city={lagos}",
                         viewport=(1280, 1400))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
