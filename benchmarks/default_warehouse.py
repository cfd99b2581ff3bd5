"""What the benchmarks that read a published warehouse share: the offline default's, built by
the plain pipeline in a temporary folder, or one given on the command line."""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path


def build(folder: Path) -> Path:
    """`citybench refresh` with the default config (the starter snapshot), without Prefect."""
    from flows.pipeline import make_transport, refresh_version
    from flows.sources.catalog import chosen
    from warehouse.config import Config

    config = Config()
    db = folder / "default.duckdb"
    transport = make_transport(db, None)
    try:
        summary = refresh_version(db, chosen(config.refresh.sources, config), transport, config,
                                  None, log=logging.getLogger("benchmark"))
    finally:
        transport.close()
    print("\n".join(summary.lines()))
    return db


def on_warehouse(measure: Callable[[Path], None], db: Path | None) -> None:
    """`measure` the warehouse given, else the offline default's, built for the run."""
    if db is not None:
        measure(db)
        return
    with tempfile.TemporaryDirectory() as folder:
        measure(build(Path(folder)))


def command_line(measure: Callable[[Path], None],
                 case: Callable[[str, str], None] | None = None) -> None:
    """`python -m benchmarks.NAME [PATH]`; with `case`, also `--case NAME DB`, one case in
    the fresh process the benchmark started."""
    if case is not None and sys.argv[1:2] == ["--case"]:
        case(sys.argv[2], sys.argv[3])
    else:
        on_warehouse(measure, Path(sys.argv[1]) if len(sys.argv) > 1 else None)
