"""Several output files (and folders) written all or none, as the file commands promise: each
is written beside its target under a temporary name; once every one is complete they are
renamed into place, any earlier target first renamed aside. A failure at any point removes
the temporaries and puts the earlier targets back, so what was there before is left as it was,
and the error names the target that failed."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Output:
    path: Path
    write: Callable[[Path], None]  # writes the content at the path it is given
    folder: bool = False  # `write` fills a new folder, which replaces `path` as a whole


class OutputFailed(Exception):
    """One line: the target and why it could not be written."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: cannot be written: {reason}")
        self.path = path


def write_all(outputs: Iterable[Output]) -> None:
    """Every output in place, or none (OutputFailed naming the target that failed)."""
    staged: dict[Path, Path] = {}  # target -> its temporary
    placed: list[tuple[Path, Path | None]] = []  # target, the earlier one renamed aside
    current = None
    try:
        for output in outputs:
            current = output.path
            if output.path.is_dir() and not output.folder:  # someone's folder: never replaced
                raise IsADirectoryError(21, "is a folder, not a file")
            staged[output.path] = _stage(output)
        for target, temporary in staged.items():
            current = target
            placed.append((target, _replace(temporary, target)))
    except OSError as error:
        _undo(placed)
        raise OutputFailed(current, error.strerror or str(error)) from None
    finally:
        for temporary in staged.values():
            _remove(temporary)
    for _, aside in placed:
        if aside is not None:
            _remove(aside)


def _stage(output: Output) -> Path:
    parent = output.path.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{output.path.name}."
    if output.folder:
        temporary = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    else:
        handle, name = tempfile.mkstemp(dir=parent, prefix=prefix, suffix=".tmp")
        os.close(handle)
        temporary = Path(name)
    try:
        output.write(temporary)
    except BaseException:
        _remove(temporary)
        raise
    return temporary


def _replace(temporary: Path, target: Path) -> Path | None:
    """`temporary` renamed to `target`; an existing target is first renamed to a hidden name
    beside it (returned, to be deleted at the end or put back on failure)."""
    aside = None
    if target.exists() or target.is_symlink():
        aside = target.with_name(f".{target.name}.{secrets.token_hex(4)}.old")
        os.replace(target, aside)
    try:
        os.replace(temporary, target)
    except OSError:
        if aside is not None:
            os.replace(aside, target)
        raise
    return aside


def _undo(placed: list[tuple[Path, Path | None]]) -> None:
    """Latest first: the new target out, the earlier one (if any) back."""
    for target, aside in reversed(placed):
        _remove(target)
        if aside is not None:
            os.replace(aside, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
