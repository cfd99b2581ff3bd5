"""`citybench mirror`: a user's downloads of publishers' files laid out as a mirror directory.

A refresh with `--mirror DIR` reads every URL from DIR/<host>/<path>[?query] (flows/transport.py).
Here each catalogued source says which names its files go by once downloaded
(`Source.file_names`); the files found under a folder by those names are linked (or copied)
to the place of the URL each one answers for. Only the user's folder is read: nothing else,
such as the tests' invented files, can enter a mirror this way.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from flows.sources.base import Source
from flows.transport import mirror_path


class MirrorError(ValueError):
    """The folder cannot be laid out unambiguously; the message says why, in one line."""


@dataclass(frozen=True)
class Placed:
    source_id: str
    name: str  # the source's name for the file
    url: str
    names: tuple[str, ...]  # the names looked for
    file: Path | None  # the user's file that answers the URL, None when there is none

    def line(self) -> str:
        if self.file is None:
            return f"{self.source_id} {self.name}: not found (looked for {', '.join(self.names)})"
        return f"{self.source_id} {self.name}: {self.file} -> {self.url}"


def _files_by_name(folder: Path) -> dict[str, list[Path]]:
    found = defaultdict(list)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            found[path.name].append(path)
    return found


def find(folder: Path, sources: list[Source]) -> list[Placed]:
    """Every file of the sources, with the user's file found for it under `folder`."""
    if not folder.is_dir():
        raise MirrorError(f"{folder}: no such directory")
    found = _files_by_name(folder)
    placed = []
    for source in sources:
        for name, candidates in source.file_names().items():
            paths = [path for candidate in candidates for path in found.get(candidate, [])]
            if len({p.name for p in paths}) < len(paths):
                twice = sorted(str(p) for p in paths)
                raise MirrorError(f"{source.meta.source_id} {name}: found more than once: "
                                  f"{', '.join(twice)}")
            placed.append(Placed(source.meta.source_id, name, source.urls[name], candidates,
                                 paths[0] if paths else None))
    return placed


def lay_out(placed: list[Placed], root: Path, *, copy: bool = False) -> int:
    """Link (or copy) each found file to its URL's place under `root`; returns how many."""
    laid = 0
    for entry in placed:
        if entry.file is None:
            continue
        target = mirror_path(root, entry.url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        if copy:
            shutil.copyfile(entry.file, target)
        else:
            target.symlink_to(entry.file.resolve())
        laid += 1
    return laid
