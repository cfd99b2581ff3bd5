"""The commands run citybench's installed code only: a working directory holding a `flows`
package, a `streamlit` package or a stray `grp.py` (a standard module's name) runs none of it.
`citybench` hands refresh, check and app to `python -P -m ...`, which leaves the working
directory off the import path."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request

import pytest

from tests.app_fixtures import free_port
from tests.conftest import ROOT, citybench, citybench_bin, cli_env

PLANTED = "open({marker!r}, 'w').write('ran')\n"


@pytest.fixture
def hostile(tmp_path):
    """A working directory whose modules would leave a marker file if they ever ran."""
    folder = tmp_path / "cwd"
    marker = tmp_path / "planted-code-ran"
    for module in ("flows/__init__.py", "flows/__main__.py", "streamlit/__init__.py",
                   "streamlit/__main__.py", "grp.py", "pandas.py"):
        path = folder / module
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PLANTED.format(marker=str(marker)))
    shutil.copyfile(ROOT / "tests" / "data" / "user" / "good.csv", folder / "good.csv")
    return folder, marker


def test_refresh_and_check_run_the_installed_code(hostile, prefect):
    folder, marker = hostile
    env = cli_env(prefect)
    refused = citybench("refresh", "--source", "nowhere", env=env, cwd=folder, timeout=60)
    assert refused.returncode == 2 and "invalid choice: 'nowhere'" in refused.stderr
    checked = citybench("check", "good.csv", "--db", str(folder / "none.duckdb"), env=env,
                        cwd=folder, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("good.csv: 3 row(s) with a value")
    assert not marker.exists()


def test_the_app_runs_the_installed_streamlit(hostile, prefect, published):
    folder, marker = hostile
    port = free_port()
    server = subprocess.Popen([citybench_bin(), "app", "--port", str(port), "--db",
                               str(published)], cwd=folder, env=cli_env(prefect),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        healthy = False
        for _ in range(150):
            if server.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=1) as answer:
                    healthy = answer.status == 200
                    break
            except OSError:
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert healthy and not marker.exists()
