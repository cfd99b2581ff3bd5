"""Where a refresh's extract and parse tasks run: on the flow's default task runner, or on a
Dask cluster named by `citybench refresh --dask-address tcp://HOST:PORT`.

The address is checked in two steps before Prefect starts (`check_address`: its form;
`check_reachable`: a scheduler answers and has workers), so that a typo or a scheduler that is
down is answered with one line and nothing is built. `dask_runner` makes Prefect's Dask task
runner for it.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner

SCHEMES = ("tcp", "tls")
# A scheduler that does not answer in this time is reported, not waited for: Dask's own
# default (30 s, retried) would leave a user staring at nothing.
CONNECT_TIMEOUT = 10.0


class ClusterUnreachable(RuntimeError):
    """No usable Dask scheduler at the address: nothing was built."""


def check_address(address: str) -> str:
    """The address as given when it has the form SCHEME://HOST:PORT, else ValueError with the
    reason (one line)."""
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:  # a port out of range or not a number
        port = None
        parts = None
    if (parts is None or parts.scheme not in SCHEMES or not parts.hostname or port is None
            or port == 0 or parts.path not in ("", "/") or parts.query or parts.fragment
            or parts.username or parts.password):
        raise ValueError(f"{address!r} is not of the form tcp://HOST:PORT")
    return address


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> int:
    """The number of workers of the Dask scheduler at `address`; ClusterUnreachable when
    nothing answers there, it is not a Dask scheduler, or it has no worker (the refresh would
    wait for one forever)."""
    parts = urlsplit(address)
    try:  # a refused port is answered at once; Dask's client would retry it until its timeout
        socket.create_connection((parts.hostname, parts.port), timeout=timeout).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ClusterUnreachable(f"no Dask scheduler answers at {address}: {reason}") from None
    import distributed

    try:
        with distributed.Client(address, timeout=f"{timeout}s", set_as_default=False) as client:
            workers = len(client.scheduler_info(n_workers=-1)["workers"])
    except (OSError, TimeoutError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ClusterUnreachable(f"no Dask scheduler answers at {address}: {first}") from None
    if not workers:
        raise ClusterUnreachable(f"the Dask scheduler at {address} has no workers")
    return workers


def dask_runner(address: str) -> DaskTaskRunner:
    """Prefect's task runner for the cluster at `address` (connected at the first task)."""
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=address, client_kwargs={"timeout": f"{CONNECT_TIMEOUT}s"})
