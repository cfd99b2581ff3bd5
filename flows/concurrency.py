"""One refresh at a time per warehouse: a Prefect global concurrency limit of one slot, named
after the warehouse file, that every runner and command sharing the Prefect server respects
(the lock file beside the warehouse guards only one file system, and refuses rather than
waits).

A scheduled run waits for the slot, so two groups due at the same minute run one after the
other, and a scheduled run due while a refresh by hand holds it runs after it. A refresh by
hand on a shared server takes the slot too, but does not wait: a killed holder keeps its slot
until its lease expires, and a command that waited a minute for it would look hung; it is
refused in one line instead. (On a temporary server, which no other refresh shares, the lock
file is the guard.)
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from prefect import get_client, get_run_logger
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.responses import GlobalConcurrencyLimitResponse
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

# A live holder renews its lease; a killed one frees the slot this long after its last renewal.
LEASE_SECONDS = 60


def limit_name(db: str) -> str:
    """The limit's name: the warehouse's file name, readable in the UI, and a hash of its
    whole path, so two warehouses of the same name never share a slot."""
    path = str(Path(db).absolute())
    readable = re.sub(r"[/%&<>]", "_", Path(path).name)
    return f"citybench-refresh-{readable}-{hashlib.sha256(path.encode()).hexdigest()[:12]}"


# How long a refresh by hand asks for a free slot: the server's round trips, not a wait.
BY_HAND_SECONDS = 5


class SlotTaken(RuntimeError):
    """Another refresh of the warehouse holds its concurrency slot."""


@contextlib.contextmanager
def one_refresh_at_a_time(db: str, wait: bool) -> Iterator[None]:
    """Hold the warehouse's slot for the block: waiting for it (`wait`), or SlotTaken."""
    name = limit_name(db)
    limit = ensure_limit(name)
    if not wait and limit.active_slots >= limit.limit:  # refused without asking: Prefect
        raise _taken(db, name)                          # logs an error on a timed-out ask
    if wait:
        get_run_logger().info("waiting for the concurrency slot %s (one refresh of %s at a "
                              "time)", name, db)
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(concurrency(name, occupy=1, lease_duration=LEASE_SECONDS,
                                           strict=True,
                                           timeout_seconds=None if wait else BY_HAND_SECONDS))
        except TimeoutError:  # taken between the look and the ask
            raise _taken(db, name) from None
        yield


def _taken(db: str, name: str) -> SlotTaken:
    return SlotTaken(f"another refresh of {db} holds its concurrency slot {name} (a scheduled "
                     f"run, or one killed less than {LEASE_SECONDS} s ago): try again when it "
                     "ends")


def ensure_limit(name: str) -> GlobalConcurrencyLimitResponse:
    """The limit of that name, made with its one slot if there is none yet."""
    with get_client(sync_client=True) as client:
        try:
            return client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):  # another run made it meanwhile
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1))
            return client.read_global_concurrency_limit_by_name(name)
