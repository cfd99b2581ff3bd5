"""The commands that run the pipeline's steps: `citybench refresh` (orchestrated through
Prefect) and `citybench check FILE` (the same rules on one user file, without Prefect).

Arguments are checked before Prefect is imported, so a typo or an unwritable path is answered
in a moment with one line, not after the embedded API has started.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from flows.sources.catalog import NAMES, SOURCES, build, read_config
from flows.transport import is_url
from warehouse.config import Config, ConfigError
from warehouse.connect import WarehouseUnreadable, verify


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"{self.prog}: {message}\n")


def _config(command: str) -> Config:
    """The config file, parsed once for the whole command."""
    try:
        return read_config()
    except ConfigError as error:
        raise SystemExit(f"citybench {command}: {error}") from None


def _check_writable(db: Path, command: str = "refresh") -> None:
    existing = next(p for p in (db.parent, *db.parent.parents) if p.exists())
    if not existing.is_dir():
        raise SystemExit(f"citybench {command}: cannot write the warehouse at {db}: "
                         f"{existing} is not a directory")
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        probe = db.with_name(f".{db.name}.probe-{os.getpid()}")
        probe.touch()
        probe.unlink()
    except OSError as error:
        reason = error.strerror or str(error)
        raise SystemExit(
            f"citybench {command}: cannot write the warehouse at {db}: {reason}"
        ) from None
    if db.exists() and not db.is_file():
        raise SystemExit(f"citybench {command}: {db} exists and is not a file")
    try:  # a damaged file, or another program's database, is refused, not built upon
        if db.is_file():
            verify(db)
    except WarehouseUnreadable as error:
        raise SystemExit(f"citybench {command}: {error}") from None


def _dask_address(text: str) -> str:
    from flows.cluster import check_address

    try:
        return check_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def refresh_main(argv: list[str]) -> int:
    names = NAMES
    parser = _Parser(
        prog="citybench refresh", description="Refresh the warehouse from its sources."
    )
    parser.add_argument(
        "--source",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"load only this source (repeatable; one of: {', '.join(names)})",
    )
    parser.add_argument(
        "--mirror",
        metavar="DIR|URL",
        help="read every URL from DIR/<host>/<path>[?query] instead of the publishers (offline "
        "runs), or from the same layout on an HTTP server at URL",
    )
    parser.add_argument(
        "--db",
        help="warehouse file (default: $CITYBENCH_DB, citybench.toml, or data/citybench.duckdb)",
    )
    parser.add_argument(
        "--dask-address",
        metavar="tcp://HOST:PORT",
        type=_dask_address,
        help="run the sources' extract and parse on the Dask cluster whose scheduler is at this "
        "address (README: Scaling out); the load and the publish stay in this process",
    )
    args = parser.parse_args(argv)
    config = _config("refresh")
    db = config.db(args.db).absolute()
    _check_writable(db)
    if args.mirror and not is_url(args.mirror) and not Path(args.mirror).is_dir():
        raise SystemExit(f"citybench refresh: mirror directory {args.mirror} does not exist")
    # a bare refresh loads [refresh] sources, else the offline default alone, so that a fresh
    # machine with no network refreshes cleanly
    sources = args.source or config.refresh.sources
    from warehouse.publish import RefreshLocked, refuse_if_locked

    try:  # answered before Prefect starts; a race lost after it is answered the same way
        refuse_if_locked(db)
    except RefreshLocked as error:
        raise SystemExit(f"citybench refresh: {error}") from None

    if args.dask_address:
        from flows.cluster import ClusterUnreachable, check_reachable

        try:  # a scheduler that is down is answered before anything is built
            check_reachable(args.dask_address)
        except ClusterUnreachable as error:
            raise SystemExit(f"citybench refresh: {error}") from None

    from flows.children import start_prefect_server
    from flows.refresh import refresh

    # unless PREFECT_API_URL names a server; it ends with this process. Named in the run's
    # settings, so that Dask workers record their task runs in the flow's API rather than each
    # start a temporary server of its own (it listens on 127.0.0.1: workers elsewhere need a
    # server they can reach, README "Scaling out")
    api = start_prefect_server()
    run = refresh
    if args.dask_address:  # the same flow and tasks, on the cluster's task runner
        from flows.cluster import dask_runner

        run = refresh.with_options(task_runner=dask_runner(args.dask_address))
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}) if api else contextlib.nullcontext():
        state = run(db=str(db), sources=sources, mirror=args.mirror, config=config,
                    return_state=True)
    # the run's state is what Prefect records: Completed, Failed named Partial (a source
    # failed, the others were published), or Failed with the reason nothing was published
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        print(f"citybench refresh: {outcome}", file=sys.stderr)
        return 1
    print("\n".join(outcome.lines()))
    if outcome.failed:
        print(f"citybench refresh: {outcome.failure()}", file=sys.stderr)
        return 1
    return 0


def check_main(argv: list[str]) -> int:
    parser = _Parser(
        prog="citybench check",
        description="Check a data file in the canonical long format (CSV, XLSX or Parquet) "
        "by the rules a refresh applies; exit 0 when every row would load, else 1. Size: a CSV "
        "above 4 MB is read in pieces, so memory stays under about 1 GB whatever its size (time "
        "grows with it: 20 MB took 2 minutes on a busy 2-core machine); an XLSX or Parquet file "
        "is read whole, at about 50 times its size in memory: convert a large one to CSV.",
    )
    parser.add_argument("file", metavar="FILE", type=Path)
    parser.add_argument("--db", help="warehouse whose cities and indicators to check against")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"citybench check: {args.file}: no such file", file=sys.stderr)
        return 1
    config = _config("check")

    from flows.check import check_file
    from flows.sources.base import ParseError

    try:
        report = check_file(args.file, config.db(args.db), config)
    except (ParseError, WarehouseUnreadable) as error:
        print(f"citybench check: {error}", file=sys.stderr)
        return 1
    if report.rows + report.missing == 0:  # a header alone would load nothing: no pass
        print(f"citybench check: {args.file}: no rows (only a header)", file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def mirror_main(argv: list[str]) -> int:
    parser = _Parser(
        prog="citybench mirror",
        description="Lay out publishers' files found under a folder as a mirror directory "
        "(DIR/<host>/<path>[?query]) for `citybench refresh --mirror`.",
    )
    parser.add_argument("--from", dest="folder", metavar="DIR", type=Path, required=True,
                        help="folder holding the downloaded files (searched recursively)")
    parser.add_argument("--out", metavar="MIRROR", type=Path, required=True)
    parser.add_argument("--source", action="append", choices=list(SOURCES), metavar="NAME",
                        help="only this source's files (repeatable; default: every source)")
    parser.add_argument("--copy", action="store_true",
                        help="copy the files (default: symbolic links to them)")
    args = parser.parse_args(argv)
    config = _config("mirror")

    from flows.mirror import MirrorError, find, lay_out

    try:
        placed = find(args.folder, [build(name, config) for name in args.source or SOURCES])
        laid = lay_out(placed, args.out, copy=args.copy)
    except (MirrorError, OSError) as error:
        print(f"citybench mirror: {error}", file=sys.stderr)
        return 1
    print("\n".join(entry.line() for entry in placed))
    print(f"{laid} of {len(placed)} file(s) laid out in {args.out}")
    return 0 if laid else 1


def snapshot_main(argv: list[str]) -> int:
    parser = _Parser(
        prog="citybench snapshot",
        description="Build the starter snapshot (flows/starter) from the publishers' files, "
        "through the ordinary sources; prints the snapshot's hash.",
    )
    parser.add_argument("--from", dest="folder", metavar="DIR", type=Path, required=True,
                        help="folder holding the publishers' files (e.g. ../shared/opendata)")
    args = parser.parse_args(argv)

    from flows.snapshot import MirrorError, SnapshotError, build

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        manifest = build(args.folder, log=logging.getLogger("citybench.snapshot"))
    except (MirrorError, SnapshotError) as error:
        print(f"citybench snapshot: {error}", file=sys.stderr)
        return 1
    print(f"starter snapshot {manifest['version']}: sha256 {manifest['sha256']}")
    return 0


def serve_main(argv: list[str]) -> int:
    from flows.serve import main  # imports Prefect only once the server's URL is known

    return main(argv)


COMMANDS = {"refresh": refresh_main, "check": check_main, "mirror": mirror_main,
            "snapshot": snapshot_main, "serve": serve_main}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m flows {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])
