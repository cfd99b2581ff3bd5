"""Run every benchmark, each case in fresh processes, and print medians with ratios.

    python -m benchmarks            # all
    python -m benchmarks startup    # one
    python -m benchmarks gawc       # the headline index against GaWC 2020 (README)
    python -m benchmarks city_page  # the city page's reads against the on-view computation
    python -m benchmarks compare    # `citybench compare` against a by-hand SQL script
    python -m benchmarks pages      # every page of the app, cold and warm
    python -m benchmarks reliability  # refreshes killed and read during publishing (README)
    python -m benchmarks scale      # one DuckDB file against Parquet partitions, x1-x100
    python -m benchmarks check_large  # `citybench check` on 20 MB and 200 MB files (README)
    python -m benchmarks report     # a 40-chart pack against Altair's chart.save (README)
"""

from __future__ import annotations

import sys

from benchmarks import (
    check_large,
    city_page,
    compare,
    composite,
    gawc,
    market_potential,
    network,
    pages,
    reliability,
    report,
    scale,
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
    "reliability": reliability.main,
    "scale": scale.main,
    "check_large": check_large.main,
    "report": report.main,
}
# not run by a bare `python -m benchmarks` (`make bench`): it takes half an hour
# (scale: ~30 min, the 100x cases writing several GB)
BY_NAME_ONLY = {"reliability", "scale"}

if __name__ == "__main__":
    chosen = sys.argv[1:] or [name for name in SUITES if name not in BY_NAME_ONLY]
    unknown = [name for name in chosen if name not in SUITES]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(SUITES)}")
    for name in chosen:
        SUITES[name]()
