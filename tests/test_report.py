"""`citybench report`: a chart pack from the published offline default.

Every format is checked as what it claims to be (PNGs decode at the declared size, SVGs parse,
PDFs have their pages, the HTML page draws every chart in Chromium with no request leaving the
file); a config mistake is one line naming its key with nothing written; the same config on the
same warehouse gives the same manifest, and a changed figure is traced to its changed data.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import pytest
from PIL import Image
from pypdf import PdfReader

from app.pack.config import PRESET_SIZES
from app.report_cli import run
from tests.app_fixtures import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import ROOT, citybench, cli_env, copy_of, query

SHOTS = ROOT / "test-artifacts" / "screenshots"
PACK = """
title = "Test pack"
formats = ["png", "svg", "pdf", "html"]
sizes = ["square"]
[size.square]
width = 800
height = 800
[cities]
top = 3
[theme]
colours = ["#112233", "#445566", "#778899", "#AABBCC", "#DDEEFF", "#123456", "#654321"]
logo_text = "TestConf"
[[chart]]
kind = "ranking"
title = "Who leads"
[[chart]]
kind = "heatmap"
[[chart]]
kind = "scatter"
x = "air_destinations"
y = "twin_partners"
[[chart]]
kind = "connectivity_map"
[[chart]]
kind = "city_card"
"""


def _write(folder: Path, text: str) -> Path:
    path = folder / "pack.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def pack(published, prefect, tmp_path_factory):
    """The pack as users make it: the command, in its own process."""
    folder = tmp_path_factory.mktemp("pack")
    out = folder / "out"
    result = citybench("report", "--config", str(_write(folder, PACK)), "--out", str(out),
                       "--db", str(published), env=cli_env(prefect))
    assert result.returncode == 0, result.stderr
    return out, json.loads((out / "manifest.json").read_text()), result


def test_every_chart_is_drawn_in_every_format_at_its_size(pack, published):
    out, manifest, result = pack
    top = [row[0] for row in query(published, """
        SELECT city_id FROM score JOIN score_run USING (score_run_id)
        WHERE framework_id = 'world_connectivity' AND node_kind = 'index'
        ORDER BY rank, value DESC, city_id LIMIT 3""")]
    assert manifest["cities"] == top
    charts = sorted({c for f in manifest["files"] for c in f["charts"]})
    # one chart per entry, and a card per city
    assert len(charts) == 4 + len(top) and sum("city-card" in c for c in charts) == len(top)
    assert f"{len(charts)} charts" in result.stdout
    sizes = {"square": (800, 800)}
    for entry in manifest["files"]:
        path = out / entry["file"]
        assert path.stat().st_size == entry["bytes"] > 0
        if entry["format"] == "png":
            width, height = sizes[entry["size"]]
            assert Image.open(path).size == (2 * width, 2 * height), entry["file"]
        elif entry["format"] == "svg":
            root = ElementTree.parse(path).getroot()
            assert (root.get("width"), root.get("height")) == tuple(
                str(v) for v in sizes[entry["size"]])
            text = "".join(root.itertext())
            assert "Sources:" in text and "TestConf" in text  # credits and logo on the page
        elif entry["format"] == "pdf":
            pages = PdfReader(path).pages
            assert len(pages) == len(entry["charts"]), entry["file"]
            box = pages[0].mediabox
            assert (round(float(box.width)), round(float(box.height))) == sizes[entry["size"]]
    booklets = [f for f in manifest["files"] if f["file"].startswith("booklet-")]
    assert {b["size"] for b in booklets} == set(sizes)
    assert all(len(b["charts"]) == len(charts) for b in booklets)
    assert {f["format"] for f in manifest["files"]} == {"png", "svg", "pdf", "html"}


def test_every_chart_credits_its_sources_with_their_vintage(pack, published):
    out, manifest, _ = pack
    held = dict(query(published, "SELECT source_id, dataset_version FROM source"))
    for entry in manifest["files"]:
        if entry["format"] != "svg":
            continue
        # whitespace aside: the footer's lines are separate text elements
        text = "".join("".join(ElementTree.parse(out / entry["file"]).getroot().itertext())
                       .split())
        assert entry["sources"], entry["file"]
        for source in entry["sources"]:
            if held[source]:  # the vintage, where the publisher states one
                assert "".join(f"Data: {held[source]}".split()) in text, (entry, source)
    ranking = next(f for f in manifest["files"] if f["file"] == "01-ranking-square.svg")
    assert "un-wup" in ranking["sources"]  # the index's universe comes from WUP


def test_the_theme_colours_the_charts(pack):
    out, _, _ = pack
    svg = (out / "01-ranking-square.svg").read_text()
    assert "#112233" in svg.upper() or "#445566" in svg.upper() or "#778899" in svg.upper()
    assert "#E69F00" not in svg.upper()  # the app's continent colour replaced
    assert "Who leads" in svg  # the config's title


def test_the_html_page_works_offline_in_chromium(pack):
    if not CHROMIUM.exists():
        if os.environ.get("CITYBENCH_REQUIRE_BROWSER") == "1":
            raise RuntimeError(f"{CHROMIUM} is missing; `make test` installs it")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    out, manifest, _ = pack
    charts = sorted({c for f in manifest["files"] for c in f["charts"]})
    asked = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("request", lambda request: asked.append(request.url))
        page.goto((out / "charts.html").as_uri())
        page.wait_for_function(
            f"document.querySelectorAll('figure svg.marks').length === {len(charts)}",
            timeout=30_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "report-html.png"))
        browser.close()
    assert [url for url in asked if not url.startswith("file://")] == []


def test_the_same_config_gives_the_same_manifest_and_changed_data_is_traced(
        published, tmp_path):
    config = _write(tmp_path, """
formats = ["png", "svg"]
[cities]
list = ["Paris, FR", "London, GB", "Madrid, ES"]
[[chart]]
kind = "ranking"
[[chart]]
kind = "connectivity_map"
links = ["air-route"]
""")
    db = copy_of(published, tmp_path)

    def hashes(out: Path) -> dict:
        assert run(config, out, db, {}) == 0
        files = json.loads((out / "manifest.json").read_text())["files"]
        return {f["file"]: (f["data_sha256"], f["settings_sha256"], f["sha256"]) for f in files}

    first, again = hashes(tmp_path / "a"), hashes(tmp_path / "b")
    assert first == again
    # the default size, a 16:9 slide, drawn at 2x
    assert Image.open(tmp_path / "a" / "01-ranking-slide.png").size == tuple(
        2 * side for side in PRESET_SIZES["slide"])
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("""UPDATE score SET value = value / 2 WHERE city_id = 'gn:2988507'
                   AND node_kind = 'index'""")
    con.close()
    changed = hashes(tmp_path / "c")
    assert changed["01-ranking-slide.png"][0] != first["01-ranking-slide.png"][0]
    assert changed["02-connectivity-map-slide.png"] == first["02-connectivity-map-slide.png"]


@pytest.mark.parametrize(("text", "said"), [
    ('[[chart]]\nkind = "pie"\n', "chart[1].kind: unknown chart 'pie'"),
    ('[cities]\nlist = ["Nowhere-on-earth-xyz"]\n[[chart]]\nkind = "ranking"\n',
     "cities.list[1]: no city named 'Nowhere-on-earth-xyz'"),
    ('[cities]\nlist = ["Paris, FR", "Valencia"]\n[[chart]]\nkind = "ranking"\n',
     "cities.list[2]: 'Valencia' could be"),
    ('[theme]\naccent = "bright red"\n[[chart]]\nkind = "ranking"\n',
     "theme.accent: 'bright red' is not a colour"),
    ('sizes = ["tiny"]\n[size.tiny]\nwidth = 0\nheight = 100\n[[chart]]\nkind = "ranking"\n',
     "size.tiny.width: input should be greater than 0"),
    ('[theme]\nfont = "No Such Sans"\n[[chart]]\nkind = "ranking"\n',
     "theme.font: 'No Such Sans' is not installed here; the families installed: "),
    ('[[chart]]\nkind = "scatter"\nx = "air_destinations"\ny = "no_such_node"\n',
     "chart scatter y: 'no_such_node' is no node of world_connectivity"),
])
def test_a_config_mistake_is_one_line_naming_the_key_and_nothing_is_written(
        published, tmp_path, capsys, text, said):
    config, out = _write(tmp_path, text), tmp_path / "out"
    assert run(config, out, published, {}) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("citybench report: ")
    assert said in error, error
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["pack.toml"]


def test_a_folder_of_other_files_is_never_replaced(published, tmp_path, capsys):
    out = tmp_path / "slides"
    out.mkdir()
    (out / "keynote.key").write_bytes(b"mine")
    config = _write(tmp_path, '[cities]\ntop = 2\n[[chart]]\nkind = "ranking"\n')
    assert run(config, out, published, {}) == 1
    assert "holds files that are not a chart pack" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keynote.key"]


def test_the_booklet_has_one_page_per_chart_in_order(pack):
    out, manifest, _ = pack
    booklet = next(f for f in manifest["files"] if f["file"] == "booklet-square.pdf")
    reader = PdfReader(io.BytesIO((out / booklet["file"]).read_bytes()))
    assert len(reader.pages) == len(booklet["charts"])
    # the config's order, a card per city in the pack's order (the ranking's)
    drawn = [f["charts"][0] for f in manifest["files"]
             if f["format"] == "png" and f["size"] == "square"]
    assert booklet["charts"] == drawn and drawn[0] == "01-ranking"
    cards = [c for c in drawn if "city-card" in c]
    assert [c.rsplit("-gn-", 1)[1] for c in cards] == [
        city.removeprefix("gn:") for city in manifest["cities"]]
    assert reader.metadata.title == "Test pack"


def test_the_app_offers_the_same_pack_as_a_download(published, monkeypatch, tmp_path):
    """The Downloads page draws the config it is given and offers the pack as one ZIP: the
    files and manifest `citybench report` writes for that config."""
    import zipfile

    from streamlit.testing.v1 import AppTest

    from tests.test_app_pages import _app

    config = ('formats = ["png", "svg"]\n[cities]\nlist = ["Paris, FR", "London, GB"]\n'
              '[[chart]]\nkind = "ranking"\n')
    at: AppTest = _app(published, monkeypatch, page="views/downloads.py")
    at.text_area(key="pack-config").set_value('[[chart]]\nkind = "pie"\n')
    at.button(key="pack-draw").click().run()
    assert "chart[1].kind: unknown chart 'pie'" in at.error[0].value
    at.text_area(key="pack-config").set_value(config)
    at.button(key="pack-draw").click().run()
    assert not at.exception and not at.error
    (download,) = [b for b in at.get("download_button") if b.proto.label.startswith("The pack")]
    served = at.session_state["pack-zip"][0]
    with zipfile.ZipFile(io.BytesIO(served)) as archive:
        names = sorted(Path(n).name for n in archive.namelist())
        manifest = json.loads(archive.read("chart-pack/manifest.json"))
    _write(tmp_path, config)
    assert run(tmp_path / "pack.toml", tmp_path / "cli", published, {}) == 0
    assert names == sorted(p.name for p in (tmp_path / "cli").iterdir())
    by_cli = json.loads((tmp_path / "cli" / "manifest.json").read_text())
    assert [f["sha256"] for f in manifest["files"]] == [f["sha256"] for f in by_cli["files"]]
    assert download.proto.label.startswith("The pack: 1 chart (ZIP")


def test_a_peer_group_is_the_city_and_its_scored_peers(published, tmp_path, capsys):
    config = _write(tmp_path, 'formats = ["svg"]\n[cities]\npeers = { city = "Lyon, FR", '
                              'group = "same-country" }\n[[chart]]\nkind = "ranking"\n')
    assert run(config, tmp_path / "out", published, {}) == 0
    cities = json.loads((tmp_path / "out" / "manifest.json").read_text())["cities"]
    scored_french = {row[0] for row in query(published, """
        SELECT s.city_id FROM score s JOIN score_run r USING (score_run_id)
        JOIN city c USING (city_id)
        WHERE r.framework_id = 'world_connectivity' AND s.node_kind = 'index'
          AND c.country_iso2 = 'FR'""")}
    assert cities[0] == "gn:2996944" and set(cities) == scored_french
    assert "peers left out, world_connectivity not scoring them" in capsys.readouterr().err


def test_each_network_of_the_cities_gets_a_map_of_its_reach_credited_to_its_list(
        published, tmp_path, capsys):
    """The offline default holds no city network: the chart is left out with a note. Given
    one (a member list of a source of its own), the pack maps its members, credited to it."""
    config = _write(tmp_path, 'formats = ["svg"]\n[cities]\ntop = 5\n'
                              '[[chart]]\nkind = "network_reach"\n')
    assert run(config, tmp_path / "none", published, {}) == 0
    assert "network_reach: none of the cities is a member" in capsys.readouterr().err
    db = copy_of(published, tmp_path)
    top = [row[0] for row in query(db, """
        SELECT city_id FROM score JOIN score_run USING (score_run_id)
        WHERE framework_id = 'world_connectivity' AND node_kind = 'index'
        ORDER BY rank, value DESC, city_id LIMIT 2""")]
    members = [*top, "gn:2509954", "gn:3435910"]  # Valencia, Buenos Aires: beyond the pack
    con = duckdb.connect(str(db))
    con.execute("""INSERT INTO source (source_id, publisher, dataset, url, licence, attribution,
                                       dataset_version)
                   VALUES ('test-nets', 'Test', 'Networks', 'https://example.org', 'CC0',
                           'Member lists: Test Networks, CC0.', 'list of May 2026')""")
    con.execute("INSERT INTO network VALUES ('t:1', 'city-network', 'Test Mayors', NULL, NULL, "
                "'test-nets')")
    for city in members:
        con.execute("INSERT INTO membership VALUES ('t:1', ?, 2026, 1, 'test-nets', 'd', 0)",
                    [city])
    con.close()
    assert run(config, tmp_path / "some", db, {}) == 0
    (entry,) = json.loads((tmp_path / "some" / "manifest.json").read_text())["files"]
    assert entry["sources"] == ["test-nets"] and entry["charts"] == ["01-network-reach-test-mayors"]
    svg = (tmp_path / "some" / entry["file"]).read_text()
    assert "Test Mayors" in svg and "list of May 2026" in svg
    countries = query(db, "SELECT count(DISTINCT country_iso2) FROM city "
                          "WHERE list_contains(?, city_id)", (members,))[0][0]
    assert f"4 member cities in {countries} countries" in svg  # all, not only the pack's
