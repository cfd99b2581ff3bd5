"""A chart on its page: the theme put on the chart's Vega-Lite spec, and the drawn SVG placed
on a page of exactly the declared size.

A single view is drawn at the page's size (Vega-Lite's autosize "fit"); a concatenation (the
ranking beside its intervals) cannot be fitted so, and is scaled to the page whole. Either way
the page is W x H, its background the theme's, the logo text in its lower right corner.
"""

from __future__ import annotations

import copy
import html
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path

import vl_convert

from app import charts
from app.pack.config import PackError, Theme

MARGIN = 24  # pixels around the chart, at 1x
FOOTER_LINE = 13  # pixels a line of the footer takes (10 px text)
FOOTER_CHAR = 5.6  # pixels a character of it takes, about
_CONTINENT_COLOURS = [colour.upper() for colour in charts.CONTINENT_COLOURS.values()]
_HIGHLIGHTS = {charts.HIGHLIGHT.upper(), charts.CITY_DOT.upper()}
_SVG_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"( viewBox="[^"]*")?')


def themed(spec: dict, theme: Theme, width: int, height: int, footer: int = 0) -> dict:
    """The spec with the theme's font, colours and background, sized for the page above a
    footer of `footer` pixels."""
    spec = _recoloured(copy.deepcopy(spec), theme)
    text = {"labelColor": theme.text, "titleColor": theme.text, "labelFont": theme.font,
            "titleFont": theme.font}
    spec["config"] = {
        **spec.get("config", {}), "font": theme.font, "background": theme.background,
        "title": {"color": theme.text, "subtitleColor": theme.text, "font": theme.font,
                  "subtitleFont": theme.font},
        "axis": text, "legend": text, "header": text,
        "range": {"category": theme.colours}, "mark": {"color": theme.colours[0]},
        "view": {"stroke": None},
    }
    spec["background"] = theme.background
    if not any(key in spec for key in ("hconcat", "vconcat", "concat", "facet", "repeat")):
        spec["width"], spec["height"] = width - 2 * MARGIN, height - 2 * MARGIN - footer
        spec["autosize"] = {"type": "fit", "contains": "padding"}
    return spec


def _recoloured(node, theme: Theme):
    """The continents' colour scale takes the theme's colours in turn; a highlight (the city
    shown, elsewhere) takes its accent."""
    if isinstance(node, dict):
        return {key: (_palette(value, theme) if key == "range" else _recoloured(value, theme))
                for key, value in node.items()}
    if isinstance(node, list):
        return [_recoloured(value, theme) for value in node]
    if isinstance(node, str) and node.upper() in _HIGHLIGHTS:
        return theme.accent
    return node


def _palette(value, theme: Theme):
    if isinstance(value, list) and [str(v).upper() for v in value] == _CONTINENT_COLOURS:
        return [theme.colours[at % len(theme.colours)] for at in range(len(value))]
    return _recoloured(value, theme)


def footer_lines(credits: Sequence[str], width: int) -> list[str]:
    """The credits as the lines of a page's footer, wrapped to its width."""
    return textwrap.wrap("Sources: " + " | ".join(credits), max(40, int(width / FOOTER_CHAR)))


def footer_height(credits: Sequence[str], width: int) -> int:
    return len(footer_lines(credits, width)) * FOOTER_LINE + MARGIN // 2


def on_page(svg: str, width: int, height: int, theme: Theme, credits: Sequence[str]) -> str:
    """The chart's SVG scaled (never above its own size) and centred on a W x H page, above
    its footer: the credits, and the logo text."""
    found = _SVG_SIZE.search(svg)
    if found is None:
        raise ValueError("the chart's SVG states no size")
    own_w, own_h = float(found.group(2)), float(found.group(3))
    lines = footer_lines(credits, width)
    room_w, room_h = width - 2 * MARGIN, height - 2 * MARGIN - footer_height(credits, width)
    scale = min(room_w / own_w, room_h / own_h, 1.0)
    shown_w, shown_h = own_w * scale, own_h * scale
    x, y = (width - shown_w) / 2, MARGIN + (room_h - shown_h) / 2
    inner = (f'<svg{found.group(1)} x="{x:.2f}" y="{y:.2f}" width="{shown_w:.2f}" '
             f'height="{shown_h:.2f}" viewBox="0 0 {own_w:g} {own_h:g}"')
    chart = svg[:found.start()] + inner + svg[found.end():]
    chart = re.sub(r"^<\?xml[^>]*>\s*", "", chart)
    font = f'font-family="{html.escape(theme.font)}" fill="{theme.text}"'
    top = height - MARGIN // 2 - FOOTER_LINE * (len(lines) - 1)
    footer = "".join(f'<text x="{MARGIN}" y="{top + at * FOOTER_LINE}" font-size="10" '
                     f'{font}>{html.escape(line)}</text>' for at, line in enumerate(lines))
    if theme.logo_text:
        footer += (f'<text x="{width - MARGIN}" y="{MARGIN}" text-anchor="end" '
                   f'font-size="13" font-weight="bold" {font}>'
                   f"{html.escape(theme.logo_text)}</text>")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}">'
            f'<rect width="{width}" height="{height}" fill="{theme.background}"/>'
            f"{chart}{footer}</svg>")


GENERIC_FONTS = {"sans-serif", "serif", "monospace"}
FONT_DIRECTORIES = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
                    Path.home() / ".fonts", Path.home() / ".local" / "share" / "fonts")


def check_font(theme: Theme) -> None:
    """The theme's font is one vl-convert can draw with: a generic family, or one installed
    on this machine or in the theme's font_directory (registered for the drawing). vl-convert
    would otherwise fall back to another font without a word."""
    folders = list(FONT_DIRECTORIES)
    if theme.font_directory is not None:
        folder = Path(theme.font_directory).expanduser()
        if not folder.is_dir():
            raise PackError(f"theme.font_directory: {folder} is not a folder")
        vl_convert.register_font_directory(str(folder))
        folders.append(folder)
    if theme.font in GENERIC_FONTS:
        return
    families = font_families(folders)
    if theme.font not in families:
        raise PackError(f"theme.font: {theme.font!r} is not installed here; the families "
                        f"installed: {', '.join(sorted(families)) or 'none'} (or give "
                        "font_directory)")


def font_families(folders: Sequence[Path]) -> set[str]:
    """The family names of the TrueType and OpenType files in these folders."""
    from PIL import ImageFont

    families = set()
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.suffix.lower() in (".ttf", ".otf", ".ttc"):
                try:
                    families.add(ImageFont.truetype(str(path), 10).getname()[0])
                except OSError:  # not a font after all
                    continue
    return families
