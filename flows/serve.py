"""`citybench serve`: the refresh flow deployed once per [schedules] group of the config file,
each on its cron schedule, served by Prefect's runner until the command is stopped.

Without PREFECT_API_URL the command starts and supervises its own Prefect server
(flows/server.py); with it, it serves against that server. Each deployment's parameters are
the warehouse, the group's sources and its mirror; its tags are the ids of the sources it
loads, which is how `citybench status` finds a source's next run (app/schedules.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from flows.cli import _check_writable, _config, _Parser
from flows.server import ServerFailed, api_url, home_of, local_server
from flows.sources.catalog import chosen
from flows.transport import is_url
from warehouse.config import Config, ScheduleGroup, hand_on

DEFAULT_PORT = 4200  # Prefect's own


def main(argv: list[str]) -> int:
    parser = _Parser(prog="citybench serve", description="Serve the scheduled refreshes of "
                     "the config file's [schedules] until stopped (Ctrl-C or SIGTERM).")
    parser.add_argument("--db", help="warehouse file (default: $CITYBENCH_DB, citybench.toml, "
                        "or data/citybench.duckdb)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="port of the local Prefect server started when PREFECT_API_URL "
                        f"is unset (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        raise SystemExit(f"citybench serve: port {args.port} is not a TCP port")
    config = _config("serve")
    db = config.db(args.db).absolute()
    _check_writable(db, "serve")
    groups = config.schedules.served()
    if not groups:
        raise SystemExit(f"citybench serve: {config.file or 'the defaults'}: no [schedules] "
                         "group names a source: nothing to serve")
    mirrors = {name: _mirror(config, group) for name, group in groups.items()}
    # Each scheduled run is a new process (python -m prefect.engine): it must read the same
    # config file and, like every citybench command, never import from the working directory.
    hand_on(config)
    os.environ["PYTHONSAFEPATH"] = "1"
    # SIGTERM stops the command the way Ctrl-C does, the server too on the way out (the
    # runner's own handler for it: _Runner)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if os.environ.get("PREFECT_API_URL"):
            return _serve(_deployments(db, config, mirrors), os.environ["PREFECT_API_URL"])
        started = time.monotonic()
        # Prefect reads these when imported: set before the imports that overlap the start-up
        os.environ.update(PREFECT_HOME=str(home_of(db)), PREFECT_API_URL=api_url(args.port))
        deployments = []
        with local_server(home_of(db), args.port, meanwhile=lambda: deployments.extend(
                _deployments(db, config, mirrors))) as url:
            print(f"citybench serve: Prefect server on {url.removesuffix('/api')} healthy in "
                  f"{time.monotonic() - started:.1f} s (database in {home_of(db)})", flush=True)
            return _serve(deployments, url)
    except ServerFailed as error:
        print(f"citybench serve: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def _mirror(config: Config, group: ScheduleGroup) -> str | None:
    """The group's mirror, else [schedules] mirror: a URL, or a directory relative to the
    config file."""
    mirror = group.mirror or config.schedules.mirror
    if mirror is None or is_url(mirror):
        return mirror
    folder = (config.file.parent if config.file else Path.cwd()) / mirror
    if not folder.is_dir():
        raise SystemExit(f"citybench serve: {config.file}: [schedules] mirror: {folder} is not "
                         "a directory")
    return str(folder.resolve())


def _deployments(db: Path, config: Config, mirrors: dict[str, str | None]) -> list:
    """The refresh flow deployed once per group; made locally, sent to the server by serve."""
    from prefect.deployments.runner import EntrypointType

    from flows.refresh import refresh

    return [
        refresh.to_deployment(
            name=name, cron=group.cron, description=f"Refresh {', '.join(group.sources)}",
            parameters={"db": str(db), "sources": group.sources, "mirror": mirrors[name]},
            # the sources' own ids: "starter" stands for each publisher's part of the snapshot
            tags=sorted({source.meta.source_id for source in chosen(group.sources, config)}),
            entrypoint_type=EntrypointType.MODULE_PATH)
        for name, group in config.schedules.served().items()]


def _serve(deployments: list, url: str) -> int:
    from prefect.runner import Runner

    class _Runner(Runner):
        """Stopped by SIGTERM or SIGINT by cancelling its run, so that it leaves the way it
        came: deployments paused, every task ended. Prefect 3.8's own SIGTERM handler exits
        from inside the event loop, whose tasks then log tracebacks; SIGINT is ignored in a
        background job."""

        def handle_sigterm(self, *args, **kwargs) -> None:
            loop.call_soon_threadsafe(running.cancel)

    async def run() -> None:
        nonlocal running
        running = asyncio.current_task()
        signal.signal(signal.SIGINT, runner.handle_sigterm)
        await runner.start()

    running: asyncio.Task | None = None
    events = asyncio.Runner()  # closing it cancels what the runner left running
    loop = events.get_loop()

    runner = _Runner(pause_on_shutdown=True)  # a stopped serve leaves nothing scheduled
    for deployment in deployments:
        runner.add_deployment(deployment)  # sent to the server now
        print(f"citybench serve: {deployment.name}: {deployment.schedules[0].schedule.cron}: "
              f"{', '.join(deployment.parameters['sources'])}", flush=True)
    print(f"citybench serve: serving {len(deployments)} deployment(s) on {url}; Ctrl-C stops",
          flush=True)
    with events, contextlib.suppress(asyncio.CancelledError):  # until Ctrl-C or SIGTERM
        events.run(run())
    return 0
