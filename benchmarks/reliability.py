"""Reliability of publishing, measured with real refreshes, a real app and real kills
(README, "Reliability"). Not part of the test suite: it takes a long while.

    python -m benchmarks reliability               # 20 kills, 5 refreshes read throughout
    python -m benchmarks.reliability --kills 4 --publishes 2 --from /tmp/wh/cb.duckdb

The offline default plus a user file whose value changes before every refresh, so that each
refresh publishes a new version. Prefect's temporary API server is the one each refresh starts
(no PREFECT_API_URL), as on a user's machine.

1. Reads during publishing: while refreshes publish, HTTP requests to a `streamlit run` of
   the app, read-only DuckDB reads in another process, and page renders (AppTest, caches
   cleared before each so that every read goes to the file) run continuously; each render
   records the version of every file its reads opened. Failed reads, and renders whose reads
   opened more than one version, are counted.
2. Kills: each refresh is SIGKILLed at a random point (most spread over a refresh's measured
   duration, some aimed at its end, where it publishes); its process group, or, every other
   time, the refresh process alone. Then: the published file is the version before or the
   next one, whole (it opens, its cross-table checks pass), the app's health endpoint answers
   and a page renders from it, the next refresh succeeds, publishes and sweeps the killed
   one's staging file, and no process of the killed refresh is alive 5 s after the kill.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from warehouse.config import CONFIG_FILE

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CITYBENCH = str(Path(sys.executable).with_name("citybench"))
GRACE_SECONDS = 5.0  # how long a killed refresh's processes may take to end
PAGES = ["views/city.py", "views/rankings.py", "views/sources.py"]
PUBLISHER = "publisher"  # the thread that runs refreshes while pages render


# --- the warehouse and its refreshes -----------------------------------------------------------


def _environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CITYBENCH_"))}
    env.update(PREFECT_HOME=str(folder / "prefect"), PYTHONUNBUFFERED="1")
    return env


def _write_user_file(folder: Path, value: int) -> None:
    """A value that differs at every refresh: the user source always changes a row."""
    (folder / "kpis.csv").write_text(
        "city,indicator,period,value,unit\n"
        f"gn:2643743,bench_counter,2024,{value},count\n")


def _setup(folder: Path, start_from: Path | None) -> tuple[Path, dict[str, str]]:
    db = folder / "cb.duckdb"
    (folder / CONFIG_FILE).write_text(
        '[warehouse]\ndb = "cb.duckdb"\n[refresh]\nsources = ["starter", "user"]\n'
        '[sources.user]\nfiles = ["kpis.csv"]\n')
    if start_from is not None:
        shutil.copyfile(start_from, db)
    return db, _environment(folder)


class Refreshes:
    """`citybench refresh` in `folder` (its config names the warehouse and the user file)."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env, self.count = folder, env, 0

    def start(self) -> subprocess.Popen:
        self.count += 1
        _write_user_file(self.folder, self.count)
        return subprocess.Popen([CITYBENCH, "refresh"], cwd=self.folder, env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True, text=True)

    def run(self) -> tuple[int, float, str]:
        """Exit status, seconds, the last line of stderr."""
        began = time.monotonic()
        refresh = self.start()
        _, errors = refresh.communicate()
        last = errors.strip().splitlines()[-1] if errors.strip() else ""
        return refresh.returncode, time.monotonic() - began, last


def _version(db: Path) -> int:
    from warehouse.connect import publication_number, reading
    with reading(db) as con:
        return publication_number(con)


def _intact(db: Path) -> list[str]:
    """What is wrong with the published file (nothing: an empty list). A killed refresh's
    staging file is not: it is beside it, unpublished, and the next refresh sweeps it."""
    from warehouse.connect import WarehouseMissing, reading
    from warehouse.integrity import violations
    try:
        with reading(db) as con:
            return violations(con)
    except WarehouseMissing as error:
        return [str(error)]


def _staging(db: Path) -> int:
    from warehouse.publish import staging_files
    return len(staging_files(db))


# --- processes -------------------------------------------------------------------------------


def _session(session: int) -> list[int]:
    """Live processes (zombies aside) of a session: a refresh and whatever it started."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            alive.append(int(entry.name))
    return alive


def _survivors(session: int) -> int:
    """Processes of a killed refresh still alive after the grace period (then killed)."""
    deadline = time.monotonic() + GRACE_SECONDS
    while (alive := _session(session)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return len(alive)


# --- the app ---------------------------------------------------------------------------------


def _free_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_app(db: Path, folder: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    app = subprocess.Popen(
        [PYTHON, "-m", "streamlit", "run", str(ROOT / "app" / "streamlit_app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**_environment(folder), "CITYBENCH_DB": str(db)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not _get(f"{url}/_stcore/health"):
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not answer within 60 s")
        time.sleep(0.2)
    return app, url


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status == 200 and bool(answer.read())
    except OSError:
        return False


def render(db: Path, page: str) -> tuple[bool, set[int], bool]:
    """One render (script run) of `page` from scratch (every cache cleared): whether it
    showed no error, the versions of the files its reads opened, and whether one of them was
    the copy a refresh kept (the render's version had been replaced while it ran)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from warehouse import connect

    opened: set[int] = set()
    kept: list[Path] = []
    plain = connect._open_pinned

    def recording(path: Path):
        con, read = plain(path)
        if threading.current_thread().name != PUBLISHER:  # the render's reads only
            opened.add(connect.publication_number(con))
            kept.extend([read] if read != db else [])
        return con, read

    st.cache_data.clear()
    os.environ["CITYBENCH_DB"] = str(db)
    connect._open_pinned = recording
    try:
        app = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=120)
        app.run()  # the default page: Rankings
        if page != "views/rankings.py":
            opened.clear()  # another run, with a snapshot of its own: only its reads count
            kept.clear()
            app.switch_page(page).run()
        ok = not app.exception and not app.error
    finally:
        connect._open_pinned = plain
    return ok, opened, bool(kept)


def _read_loop(db: str, stop: str) -> None:
    """Read-only DuckDB reads of the published file until `stop` exists (run in its own
    process: DuckDB shares one instance per file and process); prints the counts as JSON."""
    import duckdb
    reads = failed = 0
    while not os.path.exists(stop):
        try:
            con = duckdb.connect(db, read_only=True)
            con.execute("SELECT max(version), (SELECT count(*) FROM observation) "
                        "FROM publication").fetchone()
            con.close()
        except duckdb.Error as error:
            failed += 1
            print(f"failed: {error}", file=sys.stderr)
        reads += 1
    print(json.dumps({"reads": reads, "failed": failed}))


class Readers:
    """HTTP requests, DuckDB reads (another process) and renders, until stopped."""

    def __init__(self, db: Path, url: str, folder: Path):
        self.db, self.url, self.stop_file = db, url, folder / "stop-readers"
        self.stop_file.unlink(missing_ok=True)
        self.http = self.http_failed = self.renders = self.render_failed = self.spanned = 0
        self.from_kept = 0
        self._stop = threading.Event()
        self._http = threading.Thread(target=self._requests)
        self._duckdb = subprocess.Popen(
            [PYTHON, "-c", "import sys; from benchmarks.reliability import _read_loop; "
             "_read_loop(sys.argv[1], sys.argv[2])", str(db), str(self.stop_file)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self._http.start()

    def _requests(self) -> None:
        while not self._stop.is_set():
            for path in ("/", "/_stcore/health", "/city"):
                self.http += 1
                self.http_failed += not _get(self.url + path)

    def render_until(self, done: threading.Event, pages: list[str]) -> None:
        """Renders, in this thread, until `done` is set."""
        while not done.is_set():
            ok, versions, from_kept = render(self.db, pages[self.renders % len(pages)])
            self.renders += 1
            self.from_kept += from_kept
            self.render_failed += not ok
            self.spanned += len(versions) > 1

    def stop(self) -> dict:
        self._stop.set()
        self._http.join()
        self.stop_file.touch()
        counts = json.loads(self._duckdb.communicate()[0])
        return {"http": self.http, "http_failed": self.http_failed,
                "duckdb_reads": counts["reads"], "duckdb_failed": counts["failed"],
                "renders": self.renders, "render_failed": self.render_failed,
                "spanned": self.spanned, "renders_from_kept_copy": self.from_kept}


# --- the two measurements ---------------------------------------------------------------------


def kills(db: Path, refreshes: Refreshes, url: str, count: int, duration: float,
          rng: random.Random) -> list[dict]:
    results = []
    for number in range(count):
        aimed = number % 10 >= 7  # 3 in 10 aimed at the end, where the refresh publishes
        delay = rng.uniform(0.85, 1.02) * duration if aimed else rng.uniform(0.5, duration)
        group = number % 2 == 0  # else the refresh process alone
        before = _version(db)
        refresh = refreshes.start()
        time.sleep(delay)
        finished = refresh.poll() is not None
        with contextlib.suppress(ProcessLookupError):  # it may have ended by itself
            (os.killpg if group else os.kill)(refresh.pid, signal.SIGKILL)
        refresh.wait()
        survivors = _survivors(refresh.pid)
        after, problems, staging = _version(db), _intact(db), _staging(db)
        served = _get(f"{url}/_stcore/health") and render(db, "views/city.py")[0]
        status, seconds, last = refreshes.run()
        result = {"kill": number + 1, "delay_s": round(delay, 1), "aimed": aimed,
                  "group": group, "finished_before_kill": finished,
                  "outcome": {before: "same", before + 1: "new"}.get(after, f"v{after}?"),
                  "problems": problems, "served": served, "survivors": survivors,
                  "next_refresh": status, "next_published": _version(db) == after + 1,
                  "next_seconds": round(seconds, 1), "staging_left": staging,
                  "staging_after_next": _staging(db)}
        if status:
            result["next_error"] = last
        else:  # refreshes speed up and slow down with the machine's load: aim by the latest
            duration = seconds
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


def reads_during_publishing(db: Path, refreshes: Refreshes, url: str, folder: Path,
                            count: int) -> dict:
    readers = Readers(db, url, folder)
    done = threading.Event()
    outcomes = []

    def publish() -> None:
        for _ in range(count):
            before = _version(db)
            status, _, last = refreshes.run()
            outcomes.append((status, _version(db) == before + 1, last))
        done.set()

    publisher = threading.Thread(target=publish, name=PUBLISHER)
    publisher.start()
    readers.render_until(done, PAGES)  # AppTest in the main thread, as it expects
    publisher.join()
    counts = readers.stop()
    counts["refreshes"] = count
    counts["published"] = sum(status == 0 and new for status, new, _ in outcomes)
    print(json.dumps(counts), flush=True)
    return counts


def _summary(results: list[dict], counts: dict) -> None:
    same = sum(r["outcome"] == "same" for r in results)
    new = sum(r["outcome"] == "new" for r in results)
    print(f"\n{len(results)} SIGKILLs: published file the same version {same} times, "
          f"a whole new version {new} times, other {len(results) - same - new}")
    print(f"  intact every time: {all(not r['problems'] for r in results)}; "
          f"served: {sum(r['served'] for r in results)}/{len(results)}; "
          f"next refresh succeeded and published: "
          f"{sum(r['next_refresh'] == 0 and r['next_published'] for r in results)}/{len(results)}")
    print(f"  staging file left by the kill {sum(r['staging_left'] > 0 for r in results)} times, "
          f"left after the next refresh {sum(r['staging_after_next'] > 0 for r in results)}")
    for group in (True, False):
        picked = [r for r in results if r["group"] == group]
        print(f"  survivors after {'group' if group else 'lone-process'} kills: "
              f"{sum(r['survivors'] for r in picked)} in {len(picked)} kills")
    print(f"reads during {counts['refreshes']} publishing refreshes "
          f"({counts['published']} published): HTTP {counts['http_failed']} failed of "
          f"{counts['http']}; DuckDB {counts['duckdb_failed']} failed of {counts['duckdb_reads']}; "
          f"renders {counts['render_failed']} failed, {counts['spanned']} spanning two versions, "
          f"of {counts['renders']} ({counts['renders_from_kept_copy']} finished on the copy "
          "kept of their version, which a publish had replaced)")


def main(kill_count: int = 20, publishes: int = 5, start_from: Path | None = None,
         seed: int = 17) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="citybench-reliability-") as name:
        folder = Path(name)
        db, env = _setup(folder, start_from)
        refreshes = Refreshes(folder, env)
        status, duration, last = refreshes.run()  # builds it, or publishes the user file
        if status:
            raise SystemExit(f"the first refresh failed: {last}")
        print(f"a refresh publishing a new version: {duration:.1f} s", flush=True)
        app, url = _start_app(db, folder)
        try:
            counts = reads_during_publishing(db, refreshes, url, folder, publishes)
            results = kills(db, refreshes, url, kill_count, duration, rng)
        finally:
            os.killpg(app.pid, signal.SIGTERM)
            app.wait()
        _summary(results, counts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--publishes", type=int, default=5)
    parser.add_argument("--from", dest="start_from", type=Path,
                        help="copy this published warehouse instead of building one")
    args = parser.parse_args()
    main(args.kills, args.publishes, args.start_from)
