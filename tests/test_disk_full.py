"""A refresh that cannot write its next version (the disk full while copying or loading, a
folder that cannot be written, a published file damaged inside) says so in one line naming the
published file, publishes nothing, loses nothing and leaves no staging file behind.

A full disk is a real one: a small tmpfs mounted for the test (the refresh meets ENOSPC from
the kernel, in the copy, in DuckDB's writes, wherever it comes), and a folder that cannot be
written is a tmpfs remounted read-only (as root, file modes do not stop a write). Without the
right to mount, these tests are skipped with the reason.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from flows.pipeline import REGISTRIES, stage_source, with_registry
from flows.sources.user_files import UserFiles
from flows.transport import Offline
from tests.app_fixtures import CITIES, build_warehouse
from tests.conftest import ROOT, citybench, cli_env, refresh
from warehouse.connect import open_read_write, verify
from warehouse.migrate import migrate
from warehouse.publish import StagingFailed, next_version, staging_files

LOG = logging.getLogger("citybench.tests")
MB = 2**20


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mount(folder: Path, *options: str) -> None:
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs",
                             str(folder)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): "
                    f"{result.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Callable[[int], Path]]:
    """A function mounting a tmpfs of that many KiB; unmounted after the test."""
    mounted: list[Path] = []

    def mount(size_kib: int) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        _mount(folder, f"size={size_kib}k", "mode=0755")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".next-" in p.name)


def test_a_copy_that_fills_the_disk_says_so_and_leaves_nothing(small_disk):
    """The next version starts as a copy of the published file: on a disk with room for less
    than that, the copy fails, and its partial file is removed before the free space is said."""
    disk = small_disk(8 * 1024)
    published = disk / "w.duckdb"
    published.write_bytes(b"\1" * (5 * MB))
    before = _sha(published)
    with pytest.raises(StagingFailed) as failed, next_version(published):
        pytest.fail("the block must not run without its copy")
    assert str(failed.value) == (
        f"no space left on the disk of {disk} to write the next version of w.duckdb (3 MB "
        "free; the copy of the published file alone takes 5 MB, the sources' data come on "
        "top): nothing published")
    assert _sha(published) == before
    assert staging_files(published) == []


def test_a_folder_that_cannot_be_written_says_so(small_disk):
    disk = small_disk(1024)
    published = disk / "w.duckdb"
    published.write_bytes(b"published")
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    with pytest.raises(StagingFailed) as failed, next_version(published):
        pytest.fail("nothing can be staged in a read-only folder")
    assert str(failed.value) == (
        f"cannot write in {disk}: Read-only file system: nothing published")
    assert published.read_bytes() == b"published"


def _user_file(folder: Path, cities: list[str]) -> None:
    """A user file of 20,000 values of the synthetic cities (about 1 MB once loaded), and the
    config file listing it."""
    rows = [f"{city},,kpi_{k},{year},{k + year / 1e4}"
            for city in cities for k in range(50) for year in range(1975, 2025)]
    (folder / "kpis.csv").write_text("city,country,indicator,period,value\n"
                                     + "\n".join(rows) + "\n")
    (folder / "citybench.toml").write_text('[sources.user]\nfiles = ["kpis.csv"]\n')


def test_a_disk_full_in_the_middle_of_a_load_is_one_line(small_disk, prefect, tmp_path):
    """The real command, on a disk with room for the published file, its copy and half a MB:
    the user's 20,000 rows do not fit. DuckDB's write fails inside the source's transaction,
    whose ROLLBACK must not hide it, and the refresh stops rather than record one source as
    failed and write on into a file DuckDB gave up on."""
    built = build_warehouse(tmp_path / "citybench.duckdb").path
    disk = small_disk(2 * built.stat().st_size // 1024 + 512)
    published = disk / built.name
    shutil.copyfile(built, published)
    _user_file(tmp_path, sorted(CITIES["city_id"]))
    before = _sha(published)
    result = citybench("refresh", "--source", "user", "--db", str(published),
                       env=cli_env(prefect), cwd=tmp_path, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert "ROLLBACK" not in output
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"citybench refresh: no space left on the disk of {disk} to write "
                           "the next version of citybench.duckdb ("), output
    assert last.endswith(": nothing published")
    assert _sha(published) == before
    assert _leftovers(disk) == []
    verify(published)


def _corrupt_observations(db: Path) -> None:
    """Overwrite part of the block holding the observations: the catalog still opens (the
    commands' check passes), a read of the values fails its checksum."""
    con = duckdb.connect(str(db), read_only=True)
    (block,), (size,) = (
        con.execute("SELECT min(block_id) FROM pragma_storage_info('observation') "
                    "WHERE block_id >= 0").fetchone(),
        con.execute("SELECT block_size FROM pragma_database_size()").fetchone())
    con.close()
    with db.open("r+b") as file:
        file.seek(3 * 4096 + block * size + 64)
        file.write(b"\xde\xad\xbe\xef" * 256)


def test_a_damaged_published_file_is_named_not_its_copy(tmp_path):
    published = tmp_path / "w.duckdb"
    build_warehouse(published)
    _corrupt_observations(published)
    verify(published)  # damaged inside, where only a read of the values finds it
    before = _sha(published)
    with pytest.raises(StagingFailed) as failed:
        refresh(published, [])
    message = str(failed.value)
    assert message.startswith(f"{published} is damaged (computed checksum ")
    assert message.endswith("): nothing published; `citybench rollback` publishes a kept "
                            "version again")
    assert ".next-" not in message
    assert _sha(published) == before
    assert _leftovers(tmp_path) == []


def test_a_warehouse_without_cities_gets_the_offline_registry_first(tmp_path):
    """`--source user` into a new warehouse: the user's rows need cities to be tied to, so the
    offline default's registry is loaded first; a warehouse with cities is left as it is."""
    user = UserFiles(UserFiles.Settings(files=[str(ROOT / "tests/data/user/good.csv")]))
    chosen = with_registry(tmp_path / "new.duckdb", [user], log=LOG)
    assert [s.meta.source_id for s in chosen] == ["geonames-dump", "user"]
    assert chosen[0].meta.source_id in REGISTRIES
    synthetic = build_warehouse(tmp_path / "synthetic.duckdb").path
    assert with_registry(synthetic, [user], log=LOG) == [user]


def test_a_user_file_against_a_warehouse_without_cities_is_unresolved_not_a_crash(tmp_path):
    db = tmp_path / "empty.duckdb"
    con = open_read_write(db)
    try:
        migrate(con)
        user = UserFiles(UserFiles.Settings(files=[str(ROOT / "tests/data/user/good.csv")]))
        staged = stage_source(con, user, Offline(), log=LOG)
    finally:
        con.close()
    assert staged.records_unresolved == staged.records_to_resolve == 3
