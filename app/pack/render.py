"""A pack's files, drawn by vl-convert (no browser, no network: a spec may load nothing from a
URL): each chart at each size as PNG (2x), SVG and PDF, one HTML page of every chart that
works offline (the Vega libraries inlined), a PDF booklet per size, and the manifest.

The manifest lists every file with its chart, the hash of the data behind the chart and of its
settings (the themed spec), and the file's own hash where the format is reproducible: the same
config on the same warehouse gives the same manifest. (vl-convert's PDFs are not byte-stable:
the order of a page's resources varies from run to run. A PDF is traced by its data and
settings hashes only.)
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import vl_convert as vlc
from pypdf import PdfWriter

from app.pack.build import Figure
from app.pack.config import PackConfig
from app.pack.page import footer_height, on_page, themed

MANIFEST = "manifest.json"
PNG_SCALE = 2
_NO_URLS: list[str] = []  # vl-convert's allowed base URLs: none


@dataclass(frozen=True)
class Drawn:
    """One chart drawn at one size: its themed spec and its page as SVG."""

    figure: Figure
    size: str
    spec: dict
    svg: str


def draw(figure: Figure, config: PackConfig, size: str) -> Drawn:
    width, height = config.dimensions(size)
    spec = themed(figure.chart.to_dict(), config.theme, width, height,
                  footer_height(figure.credits, width))
    svg = vlc.vegalite_to_svg(spec, allowed_base_urls=_NO_URLS)
    return Drawn(figure, size, spec, on_page(svg, width, height, config.theme, figure.credits))


def write_pack(figures: list[Figure], config: PackConfig, out: Path, about: dict,
               step: Callable[[str, int, int], None] = lambda *_: None) -> dict:
    """Every file of the pack into `out`, which is replaced whole only once all are drawn (a
    failure leaves the previous pack as it was); returns the manifest. `step` is told each
    chart drawn at a size, with how many are drawn and of how many."""
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        entries = list(_files(figures, config, staging, step))
        manifest = {**about, "settings": config.model_dump(mode="json", by_alias=True),
                    "files": entries}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _files(figures: list[Figure], config: PackConfig, folder: Path,
           step: Callable[[str, int, int], None]) -> Iterator[dict]:
    first, total = config.sizes[0], len(figures) * len(config.sizes)
    for at, size in enumerate(config.sizes):
        drawn, pdfs = [], []
        for done, figure in enumerate(figures, at * len(figures) + 1):
            one = draw(figure, config, size)
            drawn.append(one)
            yield from _chart_files(one, config, folder, pdfs)
            step(f"{figure.name} ({size})", done, total)
        if config.booklet and "pdf" in config.formats:
            yield _booklet(drawn, pdfs, config, folder / f"booklet-{size}.pdf")
        if size == first and "html" in config.formats:
            yield _page(drawn, config, folder / "charts.html")


def _chart_files(one: Drawn, config: PackConfig, folder: Path,
                 pdfs: list[bytes]) -> Iterator[dict]:
    """The chart's PNG, SVG and PDF as the config asks; its PDF also goes to `pdfs`, for the
    booklet."""
    makers = {"png": lambda: vlc.svg_to_png(one.svg, scale=PNG_SCALE),
              "svg": lambda: one.svg.encode(),
              "pdf": lambda: vlc.svg_to_pdf(one.svg)}
    for form in config.formats:
        if form in makers:
            path = folder / f"{one.figure.name}-{one.size}.{form}"
            content = makers[form]()
            path.write_bytes(content)
            if form == "pdf":
                pdfs.append(content)
            yield _entry(path, [one], stable=form != "pdf")


def _booklet(drawn: list[Drawn], pdfs: list[bytes], config: PackConfig, path: Path) -> dict:
    """Every chart of a size, one page each, in the pack's order."""
    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(io.BytesIO(pdf))
    writer.add_metadata({"/Title": config.title})
    with path.open("wb") as file:
        writer.write(file)
    return _entry(path, drawn, stable=False)


def _page(drawn: list[Drawn], config: PackConfig, path: Path) -> dict:
    """One page of every chart, the Vega libraries inlined: it opens offline."""
    bundle = vlc.javascript_bundle()
    blocks = "\n".join(
        f'<figure><div id="chart-{at}"></div><figcaption>Sources: '
        f'{html.escape(" | ".join(one.figure.credits))}</figcaption></figure>'
        for at, one in enumerate(drawn))
    calls = "\n".join(
        f"vegaEmbed('#chart-{at}', {json.dumps(one.spec)}, {{actions: false, "
        f"renderer: 'svg'}});" for at, one in enumerate(drawn))
    title = html.escape(config.title)
    path.write_text(
        f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}"
        f"</title><style>body{{font-family:'{html.escape(config.theme.font)}',sans-serif;"
        f"background:{config.theme.background};color:{config.theme.text};margin:2em}}"
        f"figure{{margin:0 0 3em 0}}figcaption{{font-size:small;max-width:60em}}</style>\n"
        f"<script>{bundle}</script></head>\n"
        f"<body><h1>{title}</h1>\n{blocks}\n<script>\n{calls}\n</script></body></html>\n",
        encoding="utf-8")
    return _entry(path, drawn, stable=True)


def _entry(path: Path, drawn: list[Drawn], stable: bool) -> dict:
    content = path.read_bytes()
    return {
        "file": path.name,
        "charts": [one.figure.name for one in drawn],
        "kinds": sorted({one.figure.kind for one in drawn}),
        "size": drawn[0].size if len({one.size for one in drawn}) == 1 else None,
        "format": path.suffix.lstrip("."),
        "data_sha256": _digest([data_hash(one.figure) for one in drawn]),
        "settings_sha256": _digest([json.dumps(one.spec, sort_keys=True) for one in drawn]),
        "sha256": hashlib.sha256(content).hexdigest() if stable else None,
        "bytes": len(content),
        "sources": sorted({s for one in drawn for s in one.figure.sources}),
    }


def data_hash(figure: Figure) -> str:
    """The hash of the data behind a chart: its frame as CSV, columns in their order."""
    return hashlib.sha256(figure.data.to_csv(index=False).encode()).hexdigest()


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def zipped(folder: Path) -> bytes:
    """The pack's files as one ZIP (the app's download), in name order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{folder.name}/{path.name}")
    return buffer.getvalue()
