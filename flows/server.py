"""A local Prefect server supervised by `citybench serve`.

Schedules fire only on a real server (the temporary embedded API never schedules), so when
PREFECT_API_URL names none, `serve` starts `prefect server start` on 127.0.0.1 as its child,
with PREFECT_HOME (and so the server's SQLite database) in the warehouse's data directory,
waits until it answers /api/health, and stops it when it stops. The child is asked by the
kernel to end with its parent (PR_SET_PDEATHSIG), so a `serve` killed with SIGKILL leaves no
server behind holding the port and the database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import flows  # Prefect's defaults (telemetry off), for the server's environment too
from flows.children import die_with_parent

# A cold first start runs the database's migrations (~15 s here); a warm one takes ~9 s.
HEALTHY_WITHIN_SECONDS = 120.0
STOP_WITHIN_SECONDS = 20.0


class ServerFailed(RuntimeError):
    """The local server could not be started; the message is one line."""


def home_of(db: Path) -> Path:
    """Prefect's home for a warehouse's server: beside the warehouse, so that each data
    directory keeps its own deployments and runs."""
    return db.parent / "prefect"


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _healthy(url: str) -> bool:
    with (contextlib.suppress(OSError),
          urllib.request.urlopen(f"{url}/health", timeout=2) as answer):
        return answer.status == 200
    return False


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


@contextlib.contextmanager
def local_server(home: Path, port: int, meanwhile: Callable[[], object] = lambda: None
                 ) -> Iterator[str]:
    """A Prefect server on 127.0.0.1:`port` with its database in `home`, for as long as the
    block runs; yields its API URL. Its output goes to `home`/server.log. `meanwhile` runs
    while the server starts (several seconds: the caller's imports fit in them)."""
    child, url = start(home, port)
    try:
        meanwhile()
        wait_healthy(url, child, home / "server.log")
        yield url
    finally:
        stop(child)


def start(home: Path, port: int) -> tuple[subprocess.Popen, str]:
    """`prefect server start` on 127.0.0.1:`port`, its database in `home`: the process, not
    yet answering (wait_healthy), and its API URL."""
    if _port_taken(port):
        raise ServerFailed(f"port {port} on 127.0.0.1 is in use by another program: "
                           "choose another with --port, or name a server in PREFECT_API_URL")
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    url = api_url(port)
    # the UI's pages ask the API at this address; by default they would ask port 4200's
    env.update(flows._PREFECT_DEFAULTS, PREFECT_HOME=str(home), PREFECT_UI_API_URL=url)
    with (home / "server.log").open("ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-P", "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(port), "--analytics-off"],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(signal.SIGTERM), cwd=home)
    return child, url


def wait_healthy(url: str, child: subprocess.Popen | None, log: Path) -> None:
    """Until the server at `url` answers; ServerFailed if `child` (when this process started
    it) ends first, or at the deadline."""
    deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
    while not _healthy(url):
        if child is not None and child.poll() is not None:
            raise ServerFailed(f"the Prefect server ended at start-up (exit {child.returncode});"
                               f" see {log}")
        if time.monotonic() > deadline:
            raise ServerFailed(f"the Prefect server did not answer within "
                               f"{HEALTHY_WITHIN_SECONDS:.0f} s; see {log}")
        time.sleep(0.2)


def stop(child: subprocess.Popen) -> None:
    """SIGTERM (uvicorn shuts down cleanly on it), then SIGKILL if it does not end."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(STOP_WITHIN_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
