"""Prefect flows that refresh the warehouse from the publishers.

Prefect reads its settings when it is imported, so the defaults citybench relies on are set here,
before any module of this package imports it. A user's own environment still wins.
"""

import os

_PREFECT_DEFAULTS = {
    # A cold first start of the embedded API runs its migrations and has been seen to take
    # longer than Prefect's 20 s default, failing with "Timed out while attempting to connect
    # to ephemeral Prefect API server". Nothing is wrong then; it only needs more time.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    # Offline and private by default.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
}
for _name, _value in _PREFECT_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
