"""Child processes that end with the process that started them.

With no PREFECT_API_URL, a refresh runs Prefect's temporary API server as its child
(`python -m uvicorn`, in the refresh's process group). A kill of the whole group ends both; but
a refresh killed alone (SIGKILL to its pid: the OOM killer, a supervisor or `timeout` that
signals only its main process) left the server running for good, holding a port and Prefect's
database. The kernel can end a child when its parent dies (Linux's PR_SET_PDEATHSIG), if the
child asks between fork and exec: `die_with_parent()` is that request, for any Popen.

The parent whose death counts is the *thread* that started the child: start children from the
main thread (which lives as long as the process).
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
# resolved in the parent: the child runs as little as possible between fork and exec
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent(sig: signal.Signals = signal.SIGKILL) -> Callable[[], None]:
    """A `preexec_fn` for subprocess.Popen: the child gets `sig` when this thread ends. (SIGKILL
    by default: nobody is left to wait for a graceful stop.)"""
    parent = os.getpid()

    def in_child() -> None:
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, int(sig))
        if os.getppid() != parent:  # the parent died before the request was made
            os._exit(1)

    return in_child


def start_prefect_server() -> str | None:
    """Start Prefect's temporary API server now, from this (the main) thread, as a child that
    dies with this process, and return its API URL; unless PREFECT_API_URL names a server
    (None). Prefect's later use of the temporary server finds this one running: Prefect keeps
    one instance per port, and this is the instance of the default (None)."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return None

    class DyingWithParent(SubprocessASGIServer):
        def _run_uvicorn_command(self) -> subprocess.Popen:
            # Prefect's own command, with the request added: Popen is swapped only for the
            # instant of this call, on the main thread, before any other child is started
            popen = subprocess.Popen
            subprocess.Popen = functools.partial(popen, preexec_fn=die_with_parent())
            try:
                return super()._run_uvicorn_command()
            finally:
                subprocess.Popen = popen

    server = DyingWithParent()
    server.start()
    global _TEMPORARY
    _TEMPORARY = server.api_url
    return server.api_url


_TEMPORARY: str | None = None  # the temporary server this process started, if it did


def on_temporary_server() -> bool:
    """Whether this process's Prefect API is a temporary server it started (or Prefect's
    ephemeral one): one that no other refresh shares."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() in (None, _TEMPORARY)
