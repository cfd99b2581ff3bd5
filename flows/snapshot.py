"""`citybench snapshot --from DIR`: build the starter snapshot from publishers' files.

The inputs are a folder of the publishers' files (the project's are in ../shared/opendata);
flows/starter/inputs.toml says which publishers enter the snapshot (openly licensed data
only), what their files' PROVENANCE.md state of vintage and retrieval date, and any setting
their source needs. The files are laid out as a mirror (flows/mirror.py), each source loads
from it exactly as a refresh does (parse, contracts, city matching, provenance) into a
scratch warehouse, and what each holds is written as Parquet beside a manifest.

The same inputs give the same bytes: nothing of the build's own time or place enters, the
mirror's files carry the stated retrieval date, and rows are written in key order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import pyarrow.parquet as parquet

from flows.mirror import MirrorError, find, lay_out
from flows.pipeline import load_source
from flows.sources.catalog import SOURCES
from flows.sources.publishers import publisher_of
from flows.sources.starter import FOLDER, MANIFEST
from flows.transport import MirrorTransport, mirror_path
from warehouse.connect import open_read_write
from warehouse.migrate import migrate
from warehouse.snapshot import rows_of

INPUTS = "inputs.toml"
NOTICE = "NOTICE.md"
# The licences the snapshot may carry (../shared/opendata/README.md); anything else, such as
# non-commercial terms or no stated licence, never enters it.
OPEN_LICENCES = ("CC BY 4.0", "CC BY 3.0 IGO", "ODbL 1.0", "CC BY-SA 4.0", "CC0 1.0")


class SnapshotError(RuntimeError):
    """The snapshot cannot be built; nothing was written. The message is one line."""


@dataclass(frozen=True)
class Input:
    source_id: str
    vintage: str
    retrieved: date
    settings: dict


def read_inputs(folder: Path) -> tuple[str, list[Input]]:
    """The snapshot's version and its publishers, in load order, from inputs.toml."""
    stated = tomllib.loads((folder / INPUTS).read_text(encoding="utf-8"))
    inputs = [Input(source_id, part["vintage"], part["retrieved"], part.get("settings", {}))
              for source_id, part in stated["sources"].items()]
    for part in inputs:
        licence = publisher_of(part.source_id).licence
        if licence not in OPEN_LICENCES:
            raise SnapshotError(f"{INPUTS}: [sources.{part.source_id}]: licence {licence!r} "
                                f"is not open ({', '.join(OPEN_LICENCES)})")
    return stated["version"], inputs


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(inputs_dir: Path, out: Path = Path(str(FOLDER)), *,
          log: logging.Logger | logging.LoggerAdapter) -> dict:
    """Build the snapshot from the publishers' files under `inputs_dir` into `out` (where
    inputs.toml is); returns the manifest written."""
    version, inputs = read_inputs(out)
    sources = [SOURCES[part.source_id](SOURCES[part.source_id].Settings(**part.settings))
               for part in inputs]
    placed = find(inputs_dir, sources)
    for entry in placed:  # a source fails for a file it needs; some are optional (WUP's F22)
        log.info("%s", entry.line())
    placed = [entry for entry in placed if entry.file is not None]
    with tempfile.TemporaryDirectory(prefix="citybench-snapshot-") as scratch:
        mirror, built = Path(scratch) / "mirror", Path(scratch) / "parts"
        lay_out(placed, mirror, copy=True)
        _date_files(mirror, placed, {part.source_id: part.retrieved for part in inputs})
        con = open_read_write(Path(scratch) / "build.duckdb")
        try:
            migrate(con)
            parts = [_load(con, source, part, mirror, built, log)
                     for part, source in zip(inputs, sources, strict=True)]
        finally:
            con.close()
        written = {
            "version": version,
            "built_by": "citybench snapshot --from DIR (flows/snapshot.py)",
            "inputs": {entry.file.name: _sha256(entry.file) for entry in placed},
            "sources": parts,
        }
        written["sha256"] = hashlib.sha256(
            json.dumps(parts, sort_keys=True).encode()).hexdigest()
        _replace(out, built, written)
    log.info("starter snapshot %s written to %s, sha256 %s", version, out, written["sha256"])
    return written


def _date_files(mirror: Path, placed, retrieved: dict[str, date]) -> None:
    """Each file as of its stated retrieval: what the sources read as its Last-Modified."""
    for entry in placed:
        stamp = datetime.combine(retrieved[entry.source_id], time(), UTC).timestamp()
        os.utime(mirror_path(mirror, entry.url), (stamp, stamp))


def _load(con, source, part: Input, mirror: Path, built: Path, log) -> dict:
    report = load_source(con, source, MirrorTransport(mirror), None, log=log)
    if report.status != "success":
        raise SnapshotError(f"{part.source_id}: {report.error}")
    folder = built / part.source_id
    folder.mkdir(parents=True)
    tables = {}
    for table, rows in rows_of(con, part.source_id).items():
        path = folder / f"{table}.parquet"
        parquet.write_table(rows, path, compression="zstd", compression_level=19)
        tables[table] = {"rows": rows.num_rows, "sha256": _sha256(path)}
    meta = publisher_of(part.source_id)
    log.info("%s: %s", part.source_id,
             ", ".join(f"{t} {d['rows']:,}" for t, d in tables.items()))
    return {"source_id": part.source_id, "publisher": meta.publisher, "dataset": meta.dataset,
            "licence": meta.licence, "attribution": meta.attribution, "vintage": part.vintage,
            "retrieved": part.retrieved.isoformat(), "tables": tables,
            "rows_rejected": report.rows_rejected}


def _replace(out: Path, built: Path, manifest: dict) -> None:
    """The new parts in place of the old, the manifest last."""
    for part in manifest["sources"]:
        shutil.rmtree(out / part["source_id"], ignore_errors=True)
        shutil.copytree(built / part["source_id"], out / part["source_id"])
    (out / NOTICE).write_text(notice(manifest), encoding="utf-8")
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                encoding="utf-8")


# What the share-alike licences ask of whoever passes the data on.
_TERMS = {
    "ODbL 1.0": "The data in `{folder}/` is a derived database of {publisher}'s, made "
                "available under the Open Database License (ODbL) 1.0: "
                "https://opendatacommons.org/licenses/odbl/1-0/. Any rights in individual "
                "contents of the database are licensed under the Database Contents License: "
                "https://opendatacommons.org/licenses/dbcl/1-0/. A public use of it, or of a "
                "database derived from it, must credit the source and keep it under the ODbL.",
    "CC BY-SA 4.0": "The data in `{folder}/` is adapted from {publisher} and shared under "
                    "Creative Commons Attribution-ShareAlike 4.0: "
                    "https://creativecommons.org/licenses/by-sa/4.0/. Adaptations must "
                    "credit the source and be shared under the same licence.",
}


def notice(manifest: dict) -> str:
    """The data notice of the snapshot: each part's publisher, licence, attribution and
    vintage, and the terms of the share-alike parts."""
    lines = [f"# Data notice: the starter snapshot {manifest['version']}", "",
             "citybench's code is one thing; the data in this folder is the publishers', each "
             "part under its own licence. Built by `citybench snapshot --from DIR` "
             f"(sha256 {manifest['sha256']}).", ""]
    for part in manifest["sources"]:
        folder = part["source_id"]
        lines += [f"## `{folder}/`: {part['publisher']}", "",
                  f"- Data: {part['dataset']}; {part['vintage']}, retrieved {part['retrieved']}.",
                  f"- Licence: {part['licence']}.", f"- Attribution: {part['attribution']}"]
        if terms := _TERMS.get(part["licence"]):
            lines += [f"- Terms: {terms.format(folder=folder, publisher=part['publisher'])}"]
        lines.append("")
    return "\n".join(lines)


__all__ = ["MirrorError", "SnapshotError", "build"]
