"""How the warehouse grows past one DuckDB file (README, "Scaling out").

Load and query times, sizes and peak memory at 1x, 10x and 100x today's observation count, for
(a) the one DuckDB file as a refresh writes it (the `observation` table with its primary key,
as the migrations declare it, filled by INSERT ... SELECT, checkpointed), and (b) Parquet
partitions per source and period (`source=*/period=*/*.parquet`) read by DuckDB with hive
partitioning. The larger sets replicate today's observations with shifted indicator ids (the
same cities and periods, 10 or 100 times the indicators) and values moved by up to 0.1%.

Each case runs in a fresh process, `RUNS` times; medians are reported. The queries: a city's
report card (the latest value of each of its indicators), an indicator's ranking over every
city (its latest period), and publishing: (a) the copy of the whole file a refresh makes
before it loads anything, (b) one source's partitions rewritten beside the live ones and
swapped in by a directory rename.

    python -m benchmarks scale                 # on the offline default, built for the run
    python -m benchmarks.scale WAREHOUSE       # on a published warehouse (read only)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.default_warehouse import on_warehouse
from benchmarks.timing import fresh_peak, machine_clock, memory_gb, report_machine_use, reported

SCALES = (1, 10, 100)
LAYOUTS = ("file", "parquet")
RUNS = 3
CITY = "gn:2643743"  # London
INDICATOR = "population"
SOURCE = "geonames-dump"  # the largest source: the one whose partitions are republished
REPEATS = 3

COLUMNS = "city_id, indicator_id, period, source_id, value, flag, load_id, dataset_id"
CARD = """
    SELECT indicator_id, period, value FROM observation WHERE city_id = $city
    QUALIFY row_number() OVER (PARTITION BY indicator_id ORDER BY period DESC) = 1
"""
RANKING = """
    SELECT city_id, value, rank() OVER (ORDER BY value DESC) AS rank FROM observation
    WHERE indicator_id = $indicator
      AND period = (SELECT max(period) FROM observation WHERE indicator_id = $indicator)
"""


def _connect(path: str = ":memory:", read_only: bool = False):
    import duckdb

    # no extension is downloaded here: fail at once rather than stall (STACK-NOTES)
    return duckdb.connect(path, read_only=read_only,
                          config={"autoinstall_known_extensions": False})


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _queries(con) -> dict[str, float]:
    """The first run of each query on a new connection, and the median of warm repeats."""
    times = {}
    for name, sql, params in (("card", CARD, {"city": CITY}),
                              ("ranking", RANKING, {"indicator": INDICATOR})):
        times[f"{name}_first"] = _timed(lambda sql=sql, p=params: con.execute(sql, p).fetchall())
        times[f"{name}_warm"] = statistics.median(
            _timed(lambda sql=sql, p=params: con.execute(sql, p).fetchall())
            for _ in range(REPEATS))
    return times


def _file_case(folder: Path, work: Path) -> dict[str, float]:
    db = work / "cb.duckdb"
    ddl = (folder / "observation.sql").read_text()
    con = _connect(str(db))
    load = _timed(lambda: (con.execute(ddl),
                           con.execute(f"INSERT INTO observation SELECT {COLUMNS} FROM "
                                       "read_parquet($input)",
                                       {"input": str(folder / "input.parquet")}),
                           con.execute("CHECKPOINT")))
    con.close()
    con = _connect(str(db), read_only=True)
    times = _queries(con)
    con.close()
    staging = db.with_name("cb.duckdb.next")
    publish = _timed(lambda: (shutil.copyfile(db, staging), os.replace(staging, db)))
    return {"load": load, **times, "publish": publish, "bytes": _size(db)}


def _partitions(con, source: str, target: Path, where: str = "") -> None:
    con.execute(f"""COPY (SELECT city_id, indicator_id, value, flag, load_id, dataset_id,
                                 source_id AS source, period
                          FROM read_parquet($input) {where})
                    TO '{target}' (FORMAT parquet, PARTITION_BY (source, period))""",
                {"input": source})


def _parquet_case(folder: Path, work: Path) -> dict[str, float]:
    root = work / "observation"
    con = _connect()
    load = _timed(lambda: _partitions(con, str(folder / "input.parquet"), root))
    con.close()
    con = _connect()
    con.execute(f"""CREATE VIEW observation AS
                    SELECT city_id, indicator_id, period, source AS source_id, value, flag,
                           load_id, dataset_id
                    FROM read_parquet('{root}/source=*/period=*/*.parquet',
                                      hive_partitioning = true)""")
    times = _queries(con)
    # one source republished: its partitions written beside the live ones, then swapped in
    staging, live = work / "staging", root / f"source={SOURCE}"

    def republish() -> None:
        _partitions(con, str(folder / "input.parquet"), staging,
                    f"WHERE source_id = '{SOURCE}'")
        old = root / f".source={SOURCE}.old"
        os.rename(live, old)  # the two renames are the only moment readers could notice
        os.rename(staging / f"source={SOURCE}", live)
        shutil.rmtree(old)

    publish = _timed(republish)
    con.close()
    return {"load": load, **times, "publish": publish, "bytes": _size(root)}


CASES = {"file": _file_case, "parquet": _parquet_case}


def _case(layout: str, folder: str, touch_gb: str) -> None:
    """One fresh process: one layout at one scale; prints its figures as JSON."""
    base = fresh_peak(float(touch_gb))
    with tempfile.TemporaryDirectory(dir=folder) as work:
        figures = CASES[layout](Path(folder), Path(work))
    figures["peak_gb"] = memory_gb("VmHWM") - base
    print(json.dumps(figures))


def _inputs(db: Path, root: Path) -> int:
    """Today's observations, replicated for each scale into root/x<scale>/input.parquet, with
    the table's DDL beside; returns today's count."""
    con = _connect(str(db), read_only=True)
    try:
        (count,) = con.execute("SELECT count(*) FROM observation").fetchone()
        (ddl,) = con.execute("SELECT sql FROM duckdb_tables() "
                             "WHERE table_name = 'observation'").fetchone()
        for scale in SCALES:
            folder = root / f"x{scale}"
            folder.mkdir()
            (folder / "observation.sql").write_text(ddl)
            con.execute(f"""COPY (SELECT city_id,
                                         CASE WHEN r.i = 0 THEN indicator_id
                                              ELSE indicator_id || '~' || r.i END
                                             AS indicator_id,
                                         period, source_id,
                                         -- a replica's values differ a little, so that no
                                         -- layout compresses them as repeats
                                         CASE WHEN r.i = 0 THEN value ELSE value * (1 +
                                              (hash(city_id, r.i) % 1000) / 1e6) END AS value,
                                         flag, load_id, dataset_id
                                  FROM observation, range({scale}) r(i))
                            TO '{folder / "input.parquet"}' (FORMAT parquet)""")
    finally:
        con.close()
    return count


def measure(db: Path, runs: int = RUNS) -> None:
    start = machine_clock()
    with tempfile.TemporaryDirectory() as tmp:
        today = _inputs(db, Path(tmp))
        print(f"\nWarehouse at scale: today's {today:,} observations of {db} "
              f"({_size(db) / 1e6:,.0f} MB file), x1, x10, x100; medians of {runs} fresh "
              "processes")
        header = (f"  {'rows':>11} {'layout':<8} {'load s':>7} {'MB':>7} {'card ms':>8} "
                  f"{'rank ms':>8} {'card 1st':>8} {'rank 1st':>8} {'publish s':>9} "
                  f"{'peak GB':>7}")
        print(header)
        for scale in SCALES:
            folder = Path(tmp) / f"x{scale}"
            for layout in LAYOUTS:
                # memory a case may need, written just before it (STACK-NOTES: idle memory)
                touch = f"{min(4.0, 0.04 * scale):.2f}"
                results = [reported([sys.executable, "-m", "benchmarks.scale", "--case", layout,
                                     str(folder), touch]) for _ in range(runs)]
                m = {key: statistics.median(r[key] for r in results) for key in results[0]}
                print(f"  {today * scale:>11,} {layout:<8} {m['load']:>7.2f} "
                      f"{m['bytes'] / 1e6:>7,.0f} {m['card_warm'] * 1e3:>8.1f} "
                      f"{m['ranking_warm'] * 1e3:>8.1f} {m['card_first'] * 1e3:>8.1f} "
                      f"{m['ranking_first'] * 1e3:>8.1f} {m['publish']:>9.2f} "
                      f"{m['peak_gb']:>7.2f}", flush=True)
            (folder / "input.parquet").unlink()
    print("  publish: file = copy of the whole file and rename (a refresh's staging copy); "
          f"parquet = {SOURCE}'s partitions rewritten and its directory renamed in")
    report_machine_use(start)


def main(db: Path | None = None) -> None:
    on_warehouse(measure, db)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--case"]:
        _case(*sys.argv[2:5])
    else:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
