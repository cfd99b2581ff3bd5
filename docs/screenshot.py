"""Regenerate the README's screenshots from a warehouse: `python docs/screenshot.py [DB]`.

Starts the real app with `citybench app` and saves, from Debian's Chromium, the Rankings page
(docs/screenshot.png) and Lyon's city page (docs/screenshot-city.png).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app_fixtures import screenshot_app  # noqa: E402
from warehouse import config  # noqa: E402

LYON = "gn:2996944"
SHOTS = {"screenshot.png": ("", (1280, 1400)),
         "screenshot-city.png": (f"city?city={LYON}", (1440, 1500))}


def main() -> None:
    db = config.read().db(sys.argv[1] if len(sys.argv) > 1 else None).absolute()
    for name, (page, viewport) in SHOTS.items():
        print(f"wrote {screenshot_app(db, ROOT / 'docs' / name, page, viewport=viewport)}")


if __name__ == "__main__":
    main()
