"""One scheduled refresh at a time per warehouse: a Prefect global concurrency limit of one
slot, named after the warehouse file, that every runner sharing the Prefect server respects
(the lock file beside the warehouse guards only one file system, and refuses rather than
waits). A run waits for the slot, so two groups due at the same minute run one after the other.

Scheduled runs only: a killed holder keeps its slot until its lease expires, and a refresh by
hand that then waited a minute for it would look hung; by hand the lock file answers at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from prefect import get_client, get_run_logger
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
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


@contextlib.contextmanager
def one_refresh_at_a_time(db: str) -> Iterator[None]:
    name = limit_name(db)
    _create_if_missing(name)
    get_run_logger().info("waiting for the concurrency slot %s (one refresh of %s at a time)",
                          name, db)
    with concurrency(name, occupy=1, lease_duration=LEASE_SECONDS, strict=True):
        yield


def _create_if_missing(name: str) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):  # another run made it meanwhile
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1))
