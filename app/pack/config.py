"""A chart pack's configuration: a TOML file read and checked whole before anything is drawn,
so that a mistake is one line naming its key and no file is written.

    title = "Connected cities 2027"
    framework = "world_connectivity"      # default: the headline
    formats = ["png", "svg", "pdf", "html"]
    sizes = ["slide", "a4"]               # or a [size.NAME] of your own
    booklet = true                        # one PDF of every chart, per size

    [cities]                              # one of:
    top = 20                              #   the framework's top N
    # list = ["Lyon, FR", "gn:2988507"]   #   these cities
    # peers = { city = "Lyon, FR", group = "same-country" }   # a city and a peer group

    [theme]
    font = "Liberation Sans"              # installed, or in font_directory = "fonts/"
    colours = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
    accent = "#D55E00"
    background = "#FFFFFF"
    text = "#222222"
    logo_text = "CityConf 2027"

    [[chart]]
    kind = "ranking"                      # see KINDS
    title = "Who leads"                   # optional, as subtitle
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# Each kind of chart, and what it draws.
KINDS = {
    "ranking": "the cities' index scores as bars, beside each rank's 5-95% interval",
    "heatmap": "each city's score on each dimension",
    "scatter": "two nodes of the framework (x, y) against each other, one dot per city",
    "connectivity_map": "the cities on a world map with the links among them",
    "network_reach": "one map per city network the cities belong to: where its members are",
    "city_card": "one card per city: its score on every node among the pack's cities",
}
FORMATS = ("png", "svg", "pdf", "html")
# Pixels at 1x (PNG is drawn at 2x): a 16:9 slide, and A4 portrait in points (210 x 297 mm).
PRESET_SIZES = {"slide": (1280, 720), "a4": (595, 842)}
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
# Colour-blind-safe (Okabe-Ito), as the app's.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
LINKS = ("air-route", "twinning")


class PackError(ValueError):
    """A pack that cannot be made; the message is one line naming the key."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _colour(value: str) -> str:
    if not _COLOUR.fullmatch(value):
        raise ValueError(f"{value!r} is not a colour: write #RRGGBB or #RGB")
    return value.upper()


class Theme(_Table):
    # a family installed on this machine, or in font_directory; sans-serif: the system's own
    font: str = "sans-serif"
    font_directory: str | None = None  # a folder of .ttf/.otf files: a brand's own fonts
    colours: list[str] = Field(default_factory=lambda: list(OKABE_ITO), min_length=1)
    accent: str = "#D55E00"
    background: str = "#FFFFFF"
    text: str = "#222222"
    logo_text: str = ""

    @field_validator("colours")
    @classmethod
    def _colours(cls, values: list[str]) -> list[str]:
        return [_colour(value) for value in values]

    @field_validator("accent", "background", "text")
    @classmethod
    def _one_colour(cls, value: str) -> str:
        return _colour(value)


class Size(_Table):
    width: int = Field(gt=0, le=10_000)
    height: int = Field(gt=0, le=10_000)


class Peers(_Table):
    city: str
    group: str = "nearest-profile"
    k: int = Field(10, gt=0, le=200)


class Cities(_Table):
    top: int | None = Field(None, gt=0, le=500)
    # `list` in the file; not a field named so, which would hide the type in this class
    named: list[str] | None = Field(None, alias="list", min_length=1, max_length=500)
    peers: Peers | None = None

    def model_post_init(self, _context) -> None:
        given = [key for key, value in (("top", self.top), ("list", self.named),
                                        ("peers", self.peers)) if value is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of top, list and peers (found "
                             f"{', '.join(given) or 'none'})")


class Chart(_Table):
    kind: Literal["ranking", "heatmap", "scatter", "connectivity_map", "network_reach",
                  "city_card"]
    title: str | None = None
    subtitle: str | None = None
    x: str | None = None  # scatter: a node of the framework
    y: str | None = None
    links: list[Literal["air-route", "twinning"]] = Field(default_factory=lambda: list(LINKS))
    networks: list[str] | None = None  # network_reach: default, the `top_networks` largest
    top_networks: int = Field(3, gt=0, le=50)

    def model_post_init(self, _context) -> None:
        if self.kind == "scatter" and (self.x is None or self.y is None):
            raise ValueError("a scatter needs x and y: two nodes of the framework")


class PackConfig(_Table):
    title: str = "City benchmarks"
    framework: str | None = None
    formats: list[Literal["png", "svg", "pdf", "html"]] = Field(
        default_factory=lambda: list(FORMATS), min_length=1)
    sizes: list[str] = Field(default_factory=lambda: ["slide"], min_length=1)
    size: dict[str, Size] = Field(default_factory=dict)
    booklet: bool = True
    cities: Cities = Field(default_factory=lambda: Cities(top=20))
    theme: Theme = Field(default_factory=Theme)
    chart: list[Chart] = Field(min_length=1)

    def model_post_init(self, _context) -> None:
        for name in self.sizes:
            if name not in self.size and name not in PRESET_SIZES:
                raise ValueError(f"size {name!r}: not {' or '.join(PRESET_SIZES)}, nor a "
                                 f"[size.{name}] of the file")

    def dimensions(self, name: str) -> tuple[int, int]:
        size = self.size.get(name)
        return (size.width, size.height) if size else PRESET_SIZES[name]


def read(path: Path) -> PackConfig:
    """The pack's configuration, or PackError naming the file and key."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PackError(f"{path}: cannot be read ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PackError(f"{path}: not TOML: {error}") from None
    return parse(document, str(path))


def parse(document: dict, name: str) -> PackConfig:
    try:
        return PackConfig.model_validate(document)
    except ValidationError as error:
        raise PackError(f"{name}: {_problem(error)}") from None


def _problem(error: ValidationError) -> str:
    """The first problem, its key written as in the file (chart[2].kind)."""
    problem = error.errors()[0]
    key = "".join(f"[{part + 1}]" if isinstance(part, int) else f".{part}"
                  for part in problem["loc"]).lstrip(".")
    kind = problem["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key"
    if kind == "literal_error" and key.endswith("kind"):
        return (f"{key}: unknown chart {problem['input']!r}; the charts are: "
                + ", ".join(KINDS))
    if kind == "value_error":
        message = str(problem["ctx"]["error"])
        return f"{key}: {message}" if key else message
    if kind == "missing":
        return f"{key}: missing"
    return f"{key}: {problem['msg'][0].lower()}{problem['msg'][1:]}, found {problem['input']!r}"
