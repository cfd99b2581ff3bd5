"""citybench.toml: parsed once into one typed object; every unknown key and wrong type refused
with one line naming the file and the key, by every command, before any work starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main as app_main
from flows.cli import main as flows_main
from flows.sources.catalog import NAMES, SOURCES, build, read_config
from flows.sources.un_wup import F12, F22
from tests.conftest import citybench, cli_env
from warehouse import config

KNOWN_SOURCES = ", ".join(SOURCES)


def _toml(folder: Path, text: str) -> Path:
    path = folder / "citybench.toml"
    path.write_text(text)
    return path


def test_without_a_file_every_setting_has_its_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CITYBENCH_CONFIG", raising=False)
    monkeypatch.delenv("CITYBENCH_DB", raising=False)
    settings = read_config()
    assert settings.file is None
    assert settings.db() == config.DEFAULT_DB
    assert settings.refresh.sources == ["starter"]
    assert (settings.quality.yoy_jump, settings.quality.robust_z,
            settings.quality.min_cities) == (0.5, 3.5, 10)
    assert build("user", settings).settings.files == []


def test_a_full_file_reaches_each_part_typed(tmp_path, monkeypatch):
    monkeypatch.delenv("CITYBENCH_DB", raising=False)
    path = _toml(tmp_path, f"""
[warehouse]
db = "w/city.duckdb"

[refresh]
sources = ["geonames", "un-wup"]

[quality]
yoy_jump = 0.9
min_cities = 20

[sources.user]
files = ["ours.csv", "https://intranet.example/kpis.xlsx"]
max_rejected_share = 0

[sources.un-wup.urls]
"{F12}" = "http://mirror.example/F12.xls"

[sources.eurostat]
datasets = ["urb_cpop1"]
""")
    settings = read_config(path)
    assert settings.file == path and len(settings.sha256) == 64
    # paths in the file are relative to the file, not to where the command runs
    assert settings.db() == tmp_path / "w" / "city.duckdb"
    assert settings.db("elsewhere.duckdb") == Path("elsewhere.duckdb")
    monkeypatch.setenv("CITYBENCH_DB", "/tmp/from-env.duckdb")
    assert settings.db() == Path("/tmp/from-env.duckdb")
    assert settings.refresh.sources == ["geonames", "un-wup"]
    assert (settings.quality.yoy_jump, settings.quality.robust_z,
            settings.quality.min_cities) == (0.9, 3.5, 20)
    user = build("user", settings)
    assert user.settings.files == ["ours.csv", "https://intranet.example/kpis.xlsx"]
    assert user.settings.max_rejected_share == 0 and user.settings.folder == tmp_path
    wup = build("un-wup", settings)
    assert wup.urls[F12] == "http://mirror.example/F12.xls"
    assert wup.urls[F22] == type(wup).urls[F22]  # the others stay the publisher's
    assert [name for name in build("eurostat", settings).urls if name.startswith("urb_c")] == [
        "urb_cpop1"]
    assert build("oecd", settings).settings.max_rejected_share == 0.05  # no table: defaults


REFUSED = [
    ("[warehouse]\ndb = 5\n", "[warehouse] db: input should be a valid string, found 5"),
    ("[warehose]\ndb = 'x'\n",
     "unknown table [warehose]; known: notify, peers, quality, refresh, schedules, sources, "
     "warehouse"),
    ("[quality]\nrobust_z = -1\n", "[quality] robust_z: input should be greater than 0, found -1"),
    ("[quality]\nmin_cities = true\n",
     "[quality] min_cities: input should be a valid integer, found True"),
    ("[quality]\nz = 3\n", "[quality] z: unknown key; known: yoy_jump, robust_z, min_cities"),
    ("[refresh]\nsources = [\"nowhere\"]\n",
     f"[refresh] sources: unknown source 'nowhere'; known: {', '.join(NAMES)}"),
    ("[refresh]\nsources = \"geonames\"\n",
     "[refresh] sources: input should be a valid list, found 'geonames'"),
    ("[sources.user]\nmax_rejected_share = \"lots\"\n",
     "[sources.user] max_rejected_share: input should be a valid number, found 'lots'"),
    ("[sources.user]\nmax_rejected_share = 1.5\n",
     "[sources.user] max_rejected_share: input should be less than or equal to 1, found 1.5"),
    ("[sources.user]\nfiles = \"ours.csv\"\n",
     "[sources.user] files: input should be a valid list, found 'ours.csv'"),
    ("[sources.user]\nfile = [\"ours.csv\"]\n",
     "[sources.user] file: unknown key; known: urls, max_rejected_share, "
     "max_unresolved_share, files"),
    ("[sources.nowhere]\nurls = {}\n",
     f"[sources.nowhere]: unknown source; known: {KNOWN_SOURCES}"),
    ("[sources.un-wup.urls]\n\"F99.xls\" = \"http://x.example/F99.xls\"\n",
     f"[sources.un-wup.urls] F99.xls: unknown file; known: {F12}, {F22}"),
    ("[sources.un-wup.urls]\n\"F12\" = 12\n",
     "[sources.un-wup] urls.F12: input should be a valid string, found 12"),
    ("[sources.eurostat]\ndatasets = [\"urb_nope\"]\n",
     "[sources.eurostat] datasets: unknown dataset(s) urb_nope; known: urb_cpop1, urb_cpopcb, "
     "urb_ctour, urb_cecfi, urb_clma, urb_cenv"),
    ("sources = 3\n", "sources: expected tables [sources.<id>], found 3"),
]


@pytest.mark.parametrize(("text", "expected"), REFUSED, ids=[e for _, e in REFUSED])
def test_a_bad_setting_is_refused_in_one_line_naming_file_and_key(text, expected, tmp_path):
    path = _toml(tmp_path, text)
    with pytest.raises(config.ConfigError) as refused:
        read_config(path)
    assert str(refused.value) == f"{path.resolve()}: {expected}"


def test_a_file_that_is_not_toml_is_refused(tmp_path):
    path = _toml(tmp_path, "[warehouse\ndb = 'x'\n")
    with pytest.raises(config.ConfigError, match=r"citybench.toml: not a readable TOML file: "):
        read_config(path)
    path.write_bytes(b"[warehouse]\ndb = '\xff'\n")
    with pytest.raises(config.ConfigError, match=r"not a readable TOML file: .*utf-8"):
        read_config(path)


def test_a_missing_file_named_by_the_environment_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYBENCH_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(config.ConfigError, match=r"absent.toml: no such file"):
        read_config()


@pytest.mark.parametrize("command", [["refresh"], ["check", "x.csv"], ["status"], ["app"]])
def test_every_command_refuses_a_bad_file_before_any_work(command, tmp_path, monkeypatch,
                                                          capsys):
    monkeypatch.setenv("CITYBENCH_CONFIG", str(_toml(tmp_path, "[warehouse]\ndb = 5\n")))
    (tmp_path / "x.csv").write_text("city,indicator,period,value\n")
    monkeypatch.chdir(tmp_path)
    main = flows_main if command[0] in ("refresh", "check") else app_main
    with pytest.raises(SystemExit) as stopped:
        main(command)
    assert str(stopped.value) == (f"citybench {command[0]}: {tmp_path / 'citybench.toml'}: "
                                  "[warehouse] db: input should be a valid string, found 5")
    assert "prefect" not in capsys.readouterr().err.lower()


def test_the_command_as_users_run_it(tmp_path, prefect):
    path = _toml(tmp_path, "[quality]\nrobust_z = 'high'\n")
    result = citybench("refresh", "--db", str(tmp_path / "w.duckdb"),
                       env=cli_env(prefect, CITYBENCH_CONFIG=str(path)), timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"citybench refresh: {path}: [quality] robust_z: input should be a valid number, "
        "found 'high'"]
    assert not (tmp_path / "w.duckdb").exists()


def test_prefect_records_which_config_a_run_used_not_its_values(tmp_path):
    """A flow run's parameters are stored in Prefect's database and shown in its UI: the
    config goes there as its file and hash, never with the credentials it may hold."""
    from flows.refresh import refresh

    secret = "http://alice:S3cretPass@intranet.example/kpis.csv?token=TOK123ABC"
    path = _toml(tmp_path, f'[sources.user]\nfiles = ["{secret}"]\n')
    settings = read_config(path)
    stored = refresh.serialize_parameters({"db": "w.duckdb", "config": settings})
    assert stored["config"] == {"file": str(path), "sha256": settings.sha256}
    assert "S3cretPass" not in json.dumps(stored) and "TOK123ABC" not in json.dumps(stored)
