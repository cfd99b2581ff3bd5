"""The `citybench` command.

`refresh` orchestrates through Prefect and `check` runs the refresh's rules on a file; both
live in flows/. This module hands them over with exec, never by import, so the other commands
start in a fraction of a second and the app layer stays independent of the flows (DESIGN.md).
The interpreter is started with -P: `python -m` would otherwise put the working directory
first on the import path, and a folder there named `flows` (or a stray `grp.py`) would run
instead of citybench's own code.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import resources
from pathlib import Path

from warehouse.connect import WarehouseMissing, WarehouseUnreadable, verify

IN_FLOWS = {"refresh", "check", "mirror", "snapshot", "serve"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"{self.prog}: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="citybench", description="Comparative city-data benchmarking.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "refresh", help="refresh the warehouse from its sources (Prefect flow)", add_help=False
    )
    commands.add_parser(
        "check", help="check a data file (CSV, XLSX, Parquet) by the refresh's rules",
        add_help=False,
    )
    commands.add_parser(
        "mirror", help="lay out downloaded publishers' files as a mirror directory",
        add_help=False,
    )
    commands.add_parser(
        "snapshot", help="build the starter snapshot from the publishers' files", add_help=False
    )
    commands.add_parser(
        "serve", help="serve the scheduled refreshes of [schedules] (Prefect deployments; "
        "starts a local Prefect server when PREFECT_API_URL is unset)", add_help=False
    )
    app = commands.add_parser("app", help="start the Streamlit front end on 127.0.0.1")
    app.add_argument("--port", type=int, default=8501)
    app.add_argument("--db", help="warehouse file to serve")
    status = commands.add_parser(
        "status", help="freshness per source and the published version",
        description="Per source: last success, last failure and why, the publisher's data "
        "vintage, staleness, whether the values are the starter snapshot's, the next scheduled "
        "run (asked of the Prefect server PREFECT_API_URL names; else 'not scheduled').",
        epilog="exit status: 0 every source's last run succeeded and none is stale; "
        "1 a source's last run failed (even if another is stale), nothing is published, or "
        "the warehouse or config file cannot be read; 2 a source's data are older than the "
        "cadence its publisher states (data a publisher no longer updates are shown stale "
        "but do not alert).")
    status.add_argument("--db", help="warehouse file")
    status.add_argument("--format", choices=["text", "json"], default="text",
                        help="json: one document for machines, the same facts")
    status.add_argument("--notify", action="store_true",
                        help="also POST the failed and stale sources, in one JSON body, to the "
                        "webhook [notify] names (its URL in $CITYBENCH_WEBHOOK_URL); the exit "
                        "status stays the same whether or not it answers")
    history = commands.add_parser("history", help="the published versions kept")
    history.add_argument("--db", help="warehouse file")
    history.add_argument("--format", choices=["table", "json"], default="table")
    rollback = commands.add_parser(
        "rollback", help="publish a kept version again, as a new version")
    rollback.add_argument("version", metavar="VERSION", type=int, nargs="?",
                          help="a version `citybench history` lists (default: the previous)")
    rollback.add_argument("--reason", metavar="TEXT", default="no reason given",
                          help="why: recorded in the new version's publication row")
    rollback.add_argument("--db", help="warehouse file")
    score = commands.add_parser(
        "score", help="composite scores of a data file (CSV, XLSX, Parquet) by a framework "
        "and a method (TOML)")
    score.add_argument("--framework", metavar="F", type=Path, required=True)
    score.add_argument("--method", metavar="M", type=Path, required=True)
    score.add_argument("--data", metavar="D", type=Path, required=True,
                       help="wide (a column per indicator) or long (unit, indicator, value)")
    score.add_argument("--out", metavar="O", type=Path, required=True,
                       help="CSV of the units' scores and ranks, best first")
    score.add_argument("--unit", help="the unit column (default: the first, or 'unit')")
    score.add_argument("--period", help="the period column (default: period, year or time)")
    score.add_argument("--steps", metavar="DIR", type=Path,
                       help="also write every intermediate data set, the treatment log, "
                       "weights, diagnostics and the run's files to DIR")
    score.add_argument("--city", metavar="NAME",
                       help="also print NAME's points, rank and the other units' quartiles "
                       "on every node")
    score.add_argument("--peers", metavar="A;B;C",
                       help="with --city: the same among these units of the file")
    compare = commands.add_parser(
        "compare", help="a city's report card among its peers, and whom to learn from")
    compare.add_argument("city", metavar="CITY", help="a name (accents and case ignored, "
                         "alternate names too), 'Name, CC' or gn:ID")
    compare.add_argument("--peers", metavar="GROUP|LIST",
                         help="a peer rule (default: nearest-profile, else size-class for a "
                         "city outside the profile; same-country, same-continent, "
                         "income-group, shared-links), a list saved under [peers.lists], or "
                         "cities separated by ';'")
    compare.add_argument("--k", type=int, default=10, help="neighbours for nearest-profile")
    compare.add_argument("--framework", metavar="F",
                         help="default: world_connectivity, else the first that scores the city")
    compare.add_argument("--format", choices=["table", "csv", "json"], default="table")
    compare.add_argument("--db", help="warehouse file")
    report = commands.add_parser(
        "report", help="a chart pack for slides and print (PNG, SVG, PDF, one offline HTML "
        "page, a PDF booklet) from a TOML config")
    report.add_argument("--config", metavar="C", type=Path, required=True,
                        help="the pack's TOML (app/pack/example.toml shows every key)")
    report.add_argument("--out", metavar="DIR", type=Path, required=True,
                        help="a new or empty folder, or an earlier pack to replace")
    report.add_argument("--db", help="warehouse file")
    practices = commands.add_parser(
        "practices", help="practices and lessons recorded for cities, failures included")
    practices.add_argument("city", metavar="CITY", nargs="?",
                           help="one city ('Name, CC', gn:ID or a name); default: every city")
    practices.add_argument("--outcome", choices=["worked", "mixed", "failed"])
    practices.add_argument("--dimension", help="a framework dimension or theme, case aside")
    practices.add_argument("--format", choices=["table", "csv", "json"], default="table")
    practices.add_argument("--db", help="warehouse file")
    network = commands.add_parser(
        "network", help="interlocking network model (GNC, tiers, dyads) of a cities x "
        "organisations matrix (CSV or XLSX)")
    network.add_argument("matrix", metavar="MATRIX", type=Path)
    network.add_argument("--out", metavar="O", type=Path, required=True,
                         help="CSV of city, connectivity, share, rank, tier")
    network.add_argument("--dyads", metavar="K", type=int,
                         help="also write the K strongest pairs to O's name + .dyads.csv")
    network.add_argument("--tiers", choices=["share", "jenks"], default="share",
                         help="tiers by share of the top connectivity (default) or by "
                         "natural breaks")
    network.add_argument("--sheet", help="the workbook's sheet (default: the first)")
    network.add_argument("--backbone", action="store_true",
                         help="also write each city's backbone partners (SDSM) to O's name "
                         "+ .backbone.csv")
    return parser


def _exec_module(module: str, argv: list[str]) -> None:
    """Replace this process by `python -P -m module argv`: the working directory is not
    importable, so only installed code runs."""
    os.execv(sys.executable, [sys.executable, "-P", "-m", module, *argv])


def _run_app(port: int, db: Path) -> None:
    if not 0 < port < 65536:
        raise SystemExit(f"citybench app: port {port} is not a TCP port")
    try:  # none yet is served (the pages say how to build one); a broken file is refused
        verify(db)
    except WarehouseUnreadable as error:
        raise SystemExit(f"citybench app: {error}") from None
    except WarehouseMissing:
        pass
    os.environ["CITYBENCH_DB"] = str(db.absolute())
    script = resources.files("app") / "streamlit_app.py"
    print(
        f"citybench app: serving {os.environ['CITYBENCH_DB']} on http://127.0.0.1:{port}",
        flush=True,
    )
    _exec_module("streamlit", [
        "run", str(script),
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        # a local tool: no "Deploy" button or developer menu, from whatever directory it starts
        # (the repository's .streamlit/config.toml is read only when started there)
        "--client.toolbarMode", "viewer",
    ])


def _config(command: str):
    """The config file, read once for the command."""
    from warehouse import config  # pydantic: only for the commands that read the config

    try:
        return config.read()
    except config.ConfigError as error:
        raise SystemExit(f"citybench {command}: {error}") from None


def _compare_settings(explicit: str | None) -> tuple[Path, dict[str, list[str]]]:
    """compare's warehouse and saved peer lists. Without a config file every setting is its
    default, and the config's model (pydantic) is not imported: a tenth of an answer."""
    from warehouse import config_paths

    if config_paths.no_config_file():
        return config_paths.warehouse_path(explicit), {}
    config = _config("compare")
    return config.db(explicit), config.peers.lists


def _warehouse(command: str, explicit: str | None) -> Path:
    """--db, else $CITYBENCH_DB, else the config file's [warehouse] db, else the default."""
    return _config(command).db(explicit)


def _status(args: argparse.Namespace) -> int:
    """Print the status (text or JSON); its exit code says whether a monitor should alert."""
    from app.status import as_json, lines, notify, status

    config = _config("status")
    try:
        document = status(config.db(args.db))
    except WarehouseMissing as error:  # none yet, or unreadable: one line naming the file
        print(f"citybench status: {error}", file=sys.stderr)
        return 1
    print(as_json(document) if args.format == "json" else "\n".join(lines(document)),
          flush=True)
    if args.notify and (warning := notify(document, config.notify)):
        print(f"citybench status: {warning}", file=sys.stderr)
    return document["exit_code"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in IN_FLOWS:
        _exec_module("flows", argv)
    args = _parser().parse_args(argv)
    if args.command == "app":
        _run_app(args.port, _warehouse("app", args.db))
    elif args.command == "network":
        from app.network_cli import run

        return run(args.matrix, args.out, args.dyads, args.tiers, args.sheet, args.backbone)
    elif args.command == "score":
        from app.score_cli import run as score

        return score(args)
    elif args.command == "compare":
        from app.compare_cli import run as compare

        return compare(args, *_compare_settings(args.db))
    elif args.command == "report":
        from app.report_cli import run as report

        return report(args.config, args.out, *_compare_settings(args.db))
    elif args.command == "practices":
        from app.practices_cli import run as practices

        return practices(args, _warehouse("practices", args.db))
    elif args.command in {"history", "rollback"}:
        from app.history_cli import run_history, run_rollback

        config = _config(args.command)
        if args.command == "history":
            return run_history(config.db(args.db), args.format)
        return run_rollback(config.db(args.db), args.version, args.reason,
                            config.warehouse.keep_versions)
    elif args.command == "status":
        return _status(args)
    return 0
