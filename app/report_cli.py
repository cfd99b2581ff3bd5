"""`citybench report --config C --out DIR`: the benchmark's charts for slides and print.

    citybench report --config app/pack/example.toml --out pack/

Everything is read and checked first -- the config, its cities, the data of every chart -- so
that a mistake is one line naming its key, with exit 1 and nothing written. The pack is drawn
into a folder beside DIR and replaces DIR only once complete. DIR must be new, empty, or an
earlier pack (it holds manifest.json): a folder of other files is never replaced.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.pack import build, render
from app.pack.config import PackConfig, PackError, read
from app.pack.page import check_font
from warehouse.connect import WarehouseMissing
from warehouse.read_model import publication


def run(config_path: Path, out: Path, db: Path, lists: dict[str, list[str]]) -> int:
    try:
        manifest = make(config_path, out, db, lists, progress=sys.stderr.isatty())
    except (PackError, WarehouseMissing) as error:
        print(f"citybench report: {error}", file=sys.stderr)
        return 1
    for note in manifest["notes"]:
        print(f"citybench report: note: {note}", file=sys.stderr)
    files = manifest["files"]
    charts = len({c for f in files for c in f["charts"]})
    print(f"{charts} chart{'s' * (charts != 1)}, {len(files)} files written to {out} "
          f"(manifest: {out / render.MANIFEST})")
    return 0


def make(config_path: Path, out: Path, db: Path, lists: dict[str, list[str]],
         progress: bool = False) -> dict:
    """The pack of `config_path` drawn from the warehouse `db` into `out`; its manifest."""
    _check_out(out)
    config = read(config_path)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), disable=not progress, transient=True) as bar:
        task = bar.add_task("reading", total=None)

        def step(name: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=name)

        return draw_pack(config, str(config_path), out, db, lists, step)


def draw_pack(config: PackConfig, name: str, out: Path, db: Path,
              lists: dict[str, list[str]],
              step: Callable[[str, int, int], None] = lambda *_: None) -> dict:
    """The pack drawn into `out` (every read and check first); its manifest. `step` is told
    each chart drawn, with the count done and the total."""
    check_font(config.theme)
    pack = build.pack(db, config, lists)
    figures = list(build.figures(pack, config))  # every read and check before any file
    version = publication(db)
    about = {"title": config.title, "config": name, "warehouse": str(db),
             "version": int(version["version"].iloc[0]) if len(version) else None,
             "framework": pack.framework, "cities": pack.cities["city_id"].tolist(),
             "notes": pack.notes}
    return render.write_pack(figures, config, out, about, step)


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (
            any(out.iterdir()) and not (out / render.MANIFEST).is_file())):
        raise PackError(f"--out {out}: holds files that are not a chart pack; give a new or "
                        "empty folder, or an earlier pack's")
