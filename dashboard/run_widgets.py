"""What the sidebar's training panel and the Training page both show of a run: durations, a progress line, the
Stop button and the button that opens a run's model in the explorer."""

from __future__ import annotations

import math

import streamlit as st

from dashboard import pages, services, state


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s" if seconds < 600 else f"{round(seconds / 60)} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def describe_progress(progress: services.Progress) -> str:
    """One line for a progress bar: "Step 120 of 2,000 (6%) · about 15 min left"."""
    if progress.state == "starting":
        return "Starting: loading the data set and building the networks…"
    text = f"Step {progress.step:,} of {progress.steps:,} ({progress.fraction:.0%})"
    if progress.state == "running":
        text += (
            f" · about {format_duration(progress.eta_seconds)} left" if progress.eta_seconds else " · measuring speed…"
        )
    return text


def stop_button(handle: services.RunHandle, key: str) -> None:
    if st.button(
        "Stop",
        key=key,
        icon=":material/stop_circle:",
        help="Finishes the current step, writes a checkpoint and ends the run. The checkpoint stays usable.",
    ):
        with st.spinner("Stopping: finishing the step and writing a checkpoint…"):
            services.stop_run(handle)
        st.rerun()


def open_in_explorer(name: str) -> None:
    """Button callback: make run ``name``'s generator the current checkpoint (services.list_checkpoints lists a
    run's file as soon as its first checkpoint is written)."""
    path = services.run_checkpoint(name)
    if path is not None:
        state.open_checkpoint(path)


def open_button(name: str, label: str, key: str, **style) -> None:
    """A button that opens run ``name``'s model in the explorer and goes to the Samples page."""
    if st.button(label, key=key, icon=":material/explore:", on_click=open_in_explorer, args=(name,), **style):
        st.switch_page(pages.page("samples"))
