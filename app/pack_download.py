"""The chart pack as a download (the Downloads page): the same config, the same charts and
files as `citybench report`, drawn when asked, with progress, and offered as one ZIP."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app import reads, ui
from app.pack import render
from app.pack.config import PackError, parse
from app.report_cli import draw_pack

EXAMPLE = Path(__file__).parent / "pack" / "example.toml"


def section(snap: reads.Snapshot) -> None:
    st.subheader("Chart pack for slides and print")
    st.caption("The benchmark's charts on your brand: PNG (2x), SVG and PDF of each chart, one "
               "HTML page that opens offline, a PDF booklet, and a manifest of the data behind "
               "every file. Edit the config (app/pack/example.toml explains every key) or "
               "upload your own; `citybench report --config FILE --out DIR` makes the same "
               "pack from the shell.")
    uploaded = st.file_uploader("Your pack's config (TOML)", type=["toml"], key="pack-file")
    text = st.text_area("Config", EXAMPLE.read_text(), height=260, key="pack-config",
                        disabled=uploaded is not None)
    if st.button("Draw the pack", key="pack-draw", icon=":material/slideshow:"):
        source = uploaded.getvalue().decode("utf-8", "replace") if uploaded else text
        st.session_state["pack-zip"] = _drawn(snap, source, uploaded.name if uploaded
                                              else "the config above")
    drawn = st.session_state.get("pack-zip")
    if drawn is not None:
        content, charts, notes = drawn
        for note in notes:
            st.info(note)
        what = f"{charts} chart" + ("s" if charts != 1 else "")
        st.download_button(f"The pack: {what} (ZIP, {len(content) / 1e6:,.1f} MB)",
                           content, "chart-pack.zip", "application/zip", key="pack-zip-file",
                           on_click="ignore", icon=":material/download:")


def _drawn(snap: reads.Snapshot, source: str, name: str) -> tuple[bytes, int, list[str]] | None:
    import tomllib

    try:
        config = parse(tomllib.loads(source), name)
    except tomllib.TOMLDecodeError as error:
        st.error(f"{name}: not TOML: {error}")
        return None
    except PackError as error:
        st.error(str(error))
        return None
    bar = st.progress(0.0, "reading the data")

    def step(drawn: str, done: int, total: int) -> None:
        bar.progress(done / total, f"{drawn}: {done} of {total}")

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "chart-pack"
        try:
            manifest = draw_pack(config, name, out, snap.path, ui.peer_lists(), step)
        except PackError as error:
            bar.empty()
            st.error(str(error))
            return None
        bar.empty()
        charts = len({c for f in manifest["files"] for c in f["charts"]})
        return render.zipped(out), charts, manifest["notes"]
