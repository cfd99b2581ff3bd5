"""`citybench compare` from the shell, each case in fresh processes, against the floor a script
of one's own cannot go below (starting Python with pandas and DuckDB; compare's own floor is
numpy and DuckDB, as it imports no pandas) and against what a competent analyst would write by
hand for the same answer: one SQL query of the city's rank and the peers' median on every
node, with the peer ids already known.

The warehouse is the offline default's, built first in a temporary folder (as
benchmarks.city_page builds it); or one given: `python -m benchmarks.compare PATH`.

    python -m benchmarks compare
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.default_warehouse import command_line, on_warehouse
from benchmarks.timing import median_seconds, report

RUNS = 7
AIM = 0.5  # seconds: "well under a second" taken as half of one, on a quiet machine
LYON = "gn:2996944"
# the by-hand script: French cities of 100,000+ as the peers, Lyon's rank and their median
BY_HAND = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
peers = [r[0] for r in con.execute('''
    SELECT city_id FROM city WHERE country_iso2 = 'FR' AND population > 100000''').fetchall()]
print(con.execute('''
    WITH run AS (SELECT score_run_id FROM score_run WHERE framework_id = 'world_connectivity'
                 ORDER BY created_at DESC LIMIT 1),
    s AS (SELECT city_id, node_id, normalised FROM score JOIN run USING (score_run_id)),
    me AS (SELECT * FROM s WHERE city_id = $city)
    SELECT me.node_id, me.normalised,
           1 + count(*) FILTER (WHERE p.normalised > me.normalised) AS rank,
           median(p.normalised) AS peer_median
    FROM me JOIN s p ON p.node_id = me.node_id AND list_contains($peers, p.city_id)
    GROUP BY ALL ORDER BY me.node_id''', {"city": sys.argv[2], "peers": peers}).df())
"""


def measure(db: Path) -> None:
    citybench = str(Path(sys.executable).with_name("citybench"))
    compare = [citybench, "compare", "--db", str(db)]
    rows = [
        ("python -c 'import pandas, duckdb' (floor)",
         median_seconds([sys.executable, "-c", "import pandas, duckdb"], RUNS)),
        ("python -c 'import numpy, duckdb' (compare's floor)",
         median_seconds([sys.executable, "-c", "import numpy, duckdb"], RUNS)),
        ("by hand: one SQL query, peers known (baseline)",
         median_seconds([sys.executable, "-c", BY_HAND, str(db), LYON], RUNS)),
        ("citybench compare 'Lyon, FR' (10 nearest, table)",
         median_seconds([*compare, "Lyon, FR"], RUNS)),
        ("citybench compare 'Lyon, FR' --format json",
         median_seconds([*compare, "Lyon, FR", "--format", "json"], RUNS)),
        ("citybench compare Lyon --peers same-continent",
         median_seconds([*compare, "Lyon", "--peers", "same-continent"], RUNS)),
        ("citybench compare gn:2996944 --peers shared-links",
         median_seconds([*compare, LYON, "--peers", "shared-links"], RUNS)),
    ]
    ambiguous = [*compare, "Valencia"]
    rows.append(("citybench compare Valencia (exit 1, candidates)",
                 median_seconds(["sh", "-c", " ".join(f"'{a}'" for a in ambiguous)
                                 + " 2>/dev/null; true"], RUNS)))
    report(f"citybench compare on {db} (medians of {RUNS} fresh processes)", rows,
           "by hand: one SQL query, peers known (baseline)")
    slowest = max(seconds for name, seconds in rows if name.startswith("citybench"))
    print(f"  slowest answer {slowest:.2f} s: under 1 s {'met' if slowest < 1 else 'NOT met'}"
          f", {AIM} s {'met' if slowest <= AIM else 'NOT met'}")


def main(db: Path | None = None) -> None:
    on_warehouse(measure, db)


if __name__ == "__main__":
    command_line(measure)
