"""One battery of checks run over every catalogued source, the way scikit-learn's
parametrize_with_checks runs one over every estimator: what a source says about itself, its
real sample read and conformed within its contracts, and broken copies of each file it reads
refused with a ParseError naming the file and where it breaks.

What is particular to a publisher (its figures, its quirks) is tested in its test_source_*.py.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pandera.pandas as pa
import pytest

from flows.sources.catalog import SOURCES
from flows.sources.publishers import publishers
from flows.transport import MirrorTransport
from flows.validate import canonical_frames
from tests.conftest import SHARED
from tests.source_fixtures import (
    every_published_file,
    make_mirror,
    needs_shared,
    sample_run,
    sample_source,
)
from warehouse.config import SourceSettings
from warehouse.parse_error import ParseError
from warehouse.validation import split_valid

NAMES = list(SOURCES)
SOURCE_ID = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# Where a ParseError says the file breaks: a line, byte, cell, sheet, row or page, or a JSON
# path ($.results...), or the end of the file.
POSITION = re.compile(r"\b(line|byte|cell|sheet|row|page) \S|\$|end of file")
# Raw rows the real samples are known to break, by source and frame (every other frame of
# every sample passes its model whole).
KNOWN_RAW_REJECTS = {
    # ClimActor's Sept 2020 table has a network column without a name (3 memberships), and one
    # actor's longitude is 2017; five OpenFlights airports carry a 3-letter ICAO code.
    "climactor": {"labels": 3, "actors": 1},
    "openflights": {"airports": 5},
}
# A user's CSV need not end its last line (tests/data/user/bad-ragged.csv): a file cut within
# a line ends in a short row, which the format's contract rejects with its line, the rows
# before it loading. Every other cut file is refused whole.
CUT_ROW_REJECTED = {("user", ".csv")}


def needs_sample(name: str):
    return pytest.mark.skipif(needs_shared(name) and not (SHARED / "opendata").is_dir(),
                              reason="../shared/opendata is absent")


CHECKED = [pytest.param(name, marks=needs_sample(name)) for name in NAMES]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    files = {url: path for url, path in every_published_file().items() if path.exists()}
    return make_mirror(tmp_path_factory.mktemp("mirror"), files)


# --- what a source says about itself ----------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_metadata_and_licence_are_stated(name):
    source = SOURCES[name]
    meta = source.meta
    assert meta.source_id == name and SOURCE_ID.fullmatch(name)
    for field in ("publisher", "dataset", "url", "licence", "attribution"):
        assert getattr(meta, field).strip(), field
    # the attribution users print names the licence or the publisher
    assert any(word in meta.attribution for word in (meta.licence, *_names(meta.publisher))), (
        meta.attribution)
    assert meta.cadence_days is None or meta.cadence_days > 0
    assert issubclass(source.Settings, SourceSettings)
    assert isinstance(source(), source)  # its defaults make a source


def test_every_publisher_entry_is_a_catalogued_source():
    assert set(publishers()) == set(SOURCES)


def _names(publisher: str) -> list[str]:
    """The words of a publisher's name an attribution would use ('OECD', 'Eurostat')."""
    return [word for word in re.split(r"[\s,()]+", publisher) if len(word) > 3]


@pytest.mark.parametrize("name", NAMES)
def test_every_default_url_is_well_formed(name):
    source = SOURCES[name]
    for file, url in source.urls.items():
        parts = urlsplit(url)
        assert parts.scheme in {"http", "https"} and parts.hostname, (file, url)
        assert " " not in url, (file, url)
    meta_url = urlsplit(source.meta.url)
    assert meta_url.scheme in {"http", "https"} and meta_url.hostname


@pytest.mark.parametrize("name", NAMES)
def test_raw_models_keep_only_their_columns(name):
    for frame, model in SOURCES[name].raw_contracts().items():
        schema = model.to_schema()
        assert schema.strict == "filter" or frame == "datasets", frame
        assert schema.columns, frame


# --- the real sample, read and conformed ------------------------------------------------------


@pytest.mark.parametrize("name", CHECKED)
def test_the_sample_passes_the_raw_models(name, registry, tmp_path_factory):
    run = sample_run(name, registry, tmp_path_factory)
    assert set(run.parsed) >= set(run.source.raw_contracts())
    assert len(run.parsed["datasets"]) > 0
    assert sum(len(f) for frame, f in run.parsed.items() if frame != "datasets") > 0
    known = KNOWN_RAW_REJECTS.get(name, {})
    for frame, model in run.source.raw_contracts().items():
        if frame in known:
            assert run.raw[frame].rejected_rows == known[frame], run.raw[frame].rejected
        else:
            model.validate(run.parsed[frame], lazy=True)  # raises SchemaErrors on any failure
    assert not (set(known) - set(run.parsed))


@pytest.mark.parametrize("name", CHECKED)
def test_conformed_frames_pass_the_canonical_contracts(name, registry, tmp_path_factory):
    """The load's validate step judged the conformed frames by the canonical contracts
    (canonical_contracts, through split_valid): each frame within the source's policy."""
    run = sample_run(name, registry, tmp_path_factory)
    frames = canonical_frames(run.conformed)
    assert "dataset" in frames and set(run.canonical) == set(frames)
    limit = run.source.settings.max_rejected_share
    for table, outcome in run.canonical.items():
        assert outcome.rows_read == len(frames[table]), table
        assert outcome.rejected_share <= limit, (table, outcome.rejected.head(3).to_dict())
        assert len(outcome.valid) > 0 or table == "city_alias", table
    assert run.report.rows_loaded > 0, "the sample gives no fact"
    # every record not tied to a city is reported with a reason
    unresolved = run.conformed.unresolved
    if unresolved is not None and len(unresolved):
        assert unresolved["reason"].notna().all() and unresolved["key"].notna().all()


def test_the_known_raw_rejects_are_of_catalogued_frames():
    for name, frames in KNOWN_RAW_REJECTS.items():
        assert set(frames) <= set(SOURCES[name].raw_contracts()), name


# --- broken files ---------------------------------------------------------------------------


def broken_copies(content: bytes) -> dict[str, bytes]:
    """A download cut at a third, and random bytes (garbage after a third of a real file is
    what the end-to-end test sends every source)."""
    noise = random.Random(len(content)).randbytes(max(len(content) // 3, 1000))
    return {"truncated at a third": content[: len(content) // 3], "random bytes": noise}


@pytest.mark.parametrize("name", CHECKED)
def test_broken_files_raise_parse_errors_naming_file_and_position(name, mirror):
    source = sample_source(name)
    extracted = source.extract(MirrorTransport(mirror))
    assert extracted.files, "the sample reads no file"
    for file, content in extracted.files.items():
        for how, broken in broken_copies(content).items():
            copy = replace(extracted, files={**extracted.files, file: broken})
            if how == "truncated at a third" and (name, Path(file).suffix) in CUT_ROW_REJECTED:
                _cut_row_is_rejected(source, copy, file)
                continue
            with pytest.raises(ParseError) as refused:
                source.parse(copy)
            message = str(refused.value)
            assert "\n" not in message, (file, how, message)
            assert any(name in message for name in _names_of(source, file)), (file, how, message)
            assert POSITION.search(refused.value.position), (file, how, message)


def _cut_row_is_rejected(source, extracted, file: str) -> None:
    frame = source.parse(extracted)["observations"]
    outcome = split_valid(frame, source.raw_models["observations"], ["file", "position"])
    last = frame[frame["file"] == file].iloc[-1]
    assert f"{file} {last['position']}: fields = " in " ".join(outcome.rejected["reason"])


def _names_of(source, file: str) -> list[str]:
    """How an error may name a file: the source's name for it, its URL (that of the page, for
    a paged API), or the last part of the URL's path."""
    url = source.urls.get(file.split(" page ")[0], file)
    return [file, url.split("?")[0], urlsplit(url).path.rsplit("/", 1)[-1] or url]


def test_every_raw_model_is_a_pandera_model():
    for source in SOURCES.values():
        for model in source.raw_contracts().values():
            assert issubclass(model, pa.DataFrameModel)
