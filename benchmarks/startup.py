"""Start-up of the commands that do not orchestrate, against bare Python and `import prefect`.

DESIGN.md: only refresh and serve import Prefect; the others answer in well under a second.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks.timing import median_seconds, report


def _tiny_warehouse(folder: Path) -> Path:
    from warehouse.connect import open_read_write
    from warehouse.migrate import migrate
    from warehouse.publish import record_publication

    db = folder / "bench.duckdb"
    con = open_read_write(db)
    migrate(con)
    record_publication(con, None, "bench")
    con.close()
    return db


def main(runs: int = 7) -> None:
    citybench = str(Path(sys.executable).with_name("citybench"))
    with tempfile.TemporaryDirectory() as folder:
        db = _tiny_warehouse(Path(folder))
        matrix = Path(folder) / "matrix.csv"  # three cities, two firms
        matrix.write_text("city,Law firm,Bank\nA,5,2\nB,3,0\nC,1,4\n")
        network = [citybench, "network", str(matrix), "--out", str(Path(folder) / "gnc.csv")]
        rows = [
            ("python -c pass (baseline)", median_seconds([sys.executable, "-c", "pass"], runs)),
            ("citybench status", median_seconds([citybench, "status", "--db", str(db)], runs)),
            ("citybench --help", median_seconds([citybench, "--help"], runs)),
            ("citybench network (3 x 2 matrix)", median_seconds(network, runs)),
            ("python -c 'import prefect' (what is avoided)",
             median_seconds([sys.executable, "-c", "import prefect"], runs)),
        ]
    report(f"CLI start-up, median of {runs} fresh processes", rows, "python -c pass (baseline)")
