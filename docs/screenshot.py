"""Regenerate the README's screenshot from a warehouse: `python docs/screenshot.py [DB]`.

Starts the real app with `citybench app`, opens Lagos's city page in Debian's Chromium and
saves docs/screenshot.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app_fixtures import screenshot_app  # noqa: E402
from warehouse import config, read_model  # noqa: E402


def main() -> None:
    db = config.read().db(sys.argv[1] if len(sys.argv) > 1 else None).absolute()
    found = read_model.search_cities(db, "Lagos")
    lagos = found.loc[(found["name"] == "Lagos") & (found["country_iso2"] == "NG"),
                      "city_id"].iloc[0]
    out = screenshot_app(db, ROOT / "docs" / "screenshot.png", f"city?city={lagos}",
                         viewport=(1280, 1400))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
