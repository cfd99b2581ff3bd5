"""`citybench report`: a 40-chart pack (the top 34 cities' cards and six other charts; PNG at
2x, SVG, PDF, the offline HTML page and the booklet, at slide size), against what a competent
analyst would write for the same 40 charts: Altair's own `chart.save` of each chart as PNG
(2x), SVG and PDF -- the same vl-convert underneath, one Vega render per file.

    python -m benchmarks report [PATH]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.default_warehouse import command_line
from benchmarks.timing import report

CONFIG = """
title = "Benchmark pack"
formats = ["png", "svg", "pdf", "html"]
sizes = ["slide"]
[cities]
top = 34
[[chart]]
kind = "ranking"
[[chart]]
kind = "heatmap"
[[chart]]
kind = "scatter"
x = "air_destinations"
y = "twin_partners"
[[chart]]
kind = "scatter"
x = "agglomeration_population"
y = "air_routes"
[[chart]]
kind = "connectivity_map"
[[chart]]
kind = "connectivity_map"
links = ["twinning"]
[[chart]]
kind = "city_card"
"""


def measure(db: Path) -> None:
    from app.pack import build
    from app.pack.config import parse
    from app.report_cli import make

    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "pack.toml"
        config.write_text(CONFIG)
        start = time.perf_counter()
        manifest = make(config, Path(folder) / "pack", db, {})
        pack_seconds = time.perf_counter() - start
        charts = {c for f in manifest["files"] for c in f["charts"]}
        # the by-hand baseline: the same figures, each saved three times by Altair
        import tomllib

        settings = parse(tomllib.loads(CONFIG), "benchmark")
        start = time.perf_counter()
        figures = list(build.figures(build.pack(db, settings), settings))
        for figure in figures:
            for form in ("png", "svg", "pdf"):
                options = {"scale_factor": 2} if form == "png" else {}
                figure.chart.save(str(Path(folder) / f"{figure.name}.{form}"), **options)
        by_hand = time.perf_counter() - start
    print(f"\ncitybench report: {len(charts)} charts, {len(manifest['files'])} files")
    report("a 40-chart pack at slide size", [
        ("Altair chart.save, png+svg+pdf (baseline)", by_hand),
        ("citybench report (+ html page, booklet)", pack_seconds),
    ], "Altair chart.save, png+svg+pdf (baseline)")
    print(f"  per chart: {pack_seconds / len(charts):.2f} s")


def main() -> None:
    command_line(measure)


if __name__ == "__main__":
    sys.exit(main())
