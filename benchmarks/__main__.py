"""Run every benchmark, each case in fresh processes, and print medians with ratios.

    python -m benchmarks            # all
    python -m benchmarks startup    # one
    python -m benchmarks gawc       # the headline index against GaWC 2020 (README)
    python -m benchmarks city_page  # the city page's reads against the on-view computation
    python -m benchmarks compare    # `citybench compare` against a by-hand SQL script
    python -m benchmarks pages      # every page of the app, cold and warm
"""

from __future__ import annotations

import sys

from benchmarks import (
    city_page,
    compare,
    composite,
    gawc,
    market_potential,
    network,
    pages,
    startup,
    validation,
)

SUITES = {
    "startup": startup.main,
    "market_potential": market_potential.main,
    "validation": validation.main,
    "composite": composite.main,
    "network": network.main,
    "gawc": gawc.main,
    "city_page": city_page.main,
    "compare": compare.main,
    "pages": pages.main,
}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(SUITES)
    unknown = [name for name in chosen if name not in SUITES]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(SUITES)}")
    for name in chosen:
        SUITES[name]()
