"""Sidebar panel "Train a model": start a run (in its own process, via ganlib.runs), follow it, stop it.

Only one run trains at a time on this machine, whichever browser session started it, so every session shows the
active run here. The settings are plain session values kept alive across pages; they are not in the URL
(a shared link shows a view, it should not carry someone's half-typed training settings).
"""
from __future__ import annotations

import streamlit as st

from dashboard import services
from dashboard.views.training import (describe_progress, format_duration, open_in_explorer, samples_page,
                                      stop_button, training_page)
from ganlib import runs
from ganlib.config import LOSSES

SETTINGS = {  # session key -> default
    "train_dataset": "toonfaces",
    "train_folder": "",
    "train_image_size": 32,
    "train_steps": 2000,
    "train_batch_size": 64,
    "train_lr": 2e-4,
    "train_loss": "non-saturating",
    "train_d_steps": 1,
    "train_label_smoothing": 0.0,
    "train_instance_noise": 0.0,
}
DATASET_LABELS = {"toonfaces": "Toon faces", "digits": "Digits", "folder": "Folder…"}
LOSS_LABELS = {"non-saturating": "non-saturating: −log D(G(z))", "minimax": "minimax: log(1 − D(G(z)))"}


def render() -> None:
    for key, default in SETTINGS.items():  # re-assigning keeps a widget's value while the form is hidden
        st.session_state[key] = st.session_state.get(key, default)
    if runs.active_run(services.runs_dir()) is not None:
        _follow_active_run()
        return
    _last_run_note()
    error = st.session_state.get("_train_error", "")
    with st.expander("Train a model", icon=":material/model_training:", expanded=bool(error)):
        _settings()
        st.button("Start training", key="training_start", type="primary", icon=":material/play_arrow:",
                  width="stretch", on_click=_start)
        if error:
            st.error(error, icon=":material/error:")


def _settings() -> None:
    st.radio("Data set", list(DATASET_LABELS), format_func=DATASET_LABELS.get, key="train_dataset", horizontal=True)
    if st.session_state["train_dataset"] == "folder":
        st.text_input("Folder of images", key="train_folder", placeholder="/path/to/images",
                      help="Any folder of PNG/JPEG images (subfolders become class labels). "
                           "Images are centre-cropped to squares.")
    st.radio("Image size", (32, 64, 128), format_func=lambda size: f"{size} px", key="train_image_size",
             horizontal=True)
    left, right = st.columns(2)
    left.number_input("Steps", min_value=10, max_value=200_000, step=100, key="train_steps",
                      help="Generator steps (each after k discriminator steps).")
    right.number_input("Batch size", min_value=8, max_value=512, step=8, key="train_batch_size")
    left.number_input("Learning rate", min_value=1e-5, max_value=1e-2, step=1e-5, format="%.5f", key="train_lr",
                      help="Adam, for both networks (the DCGAN paper uses 0.0002).")
    right.number_input("D-steps (k)", min_value=1, max_value=10, step=1, key="train_d_steps",
                       help="Discriminator steps per generator step.")
    st.selectbox("Generator loss", LOSSES, format_func=LOSS_LABELS.get, key="train_loss",
                 help="The original minimax loss saturates early (G learns little while D rejects its images); "
                      "the non-saturating one has the same fixed point and strong gradients there.")
    left, right = st.columns(2)  # the two classic remedies for "D wins and G's gradients vanish"
    left.number_input("Label smoothing", min_value=0.0, max_value=0.4, step=0.05, format="%.2f",
                      key="train_label_smoothing",
                      help="One-sided: D's target for real images becomes 1 − this, so D cannot grow ever more "
                           "confident on them (Salimans et al. 2016). 0 = the original game; try 0.1 when D wins.")
    right.number_input("Instance noise", min_value=0.0, max_value=1.0, step=0.05, format="%.2f",
                       key="train_instance_noise",
                       help="Std of Gaussian noise added to every image D sees, real and fake, falling linearly to 0 "
                            "by the last step: it makes the two distributions overlap, so D cannot separate them "
                            "perfectly early on (Sønderby et al. 2017). Images span −1 to 1; try 0.1.")
    s = st.session_state
    seconds = runs.estimate_seconds(s["train_image_size"], s["train_steps"], s["train_batch_size"], s["train_d_steps"])
    first_time = " The first toon-faces run at a new size renders the faces first (about a minute)." \
        if s["train_dataset"] == "toonfaces" else ""
    st.caption(f"About **{format_duration(seconds)}** on this CPU (one thread; measured ≈ 2 steps/s for 32 px "
               f"at batch 64, 64 px is ≈ 4× slower; longer while other work shares the CPU).{first_time}")


def _start() -> None:
    s = st.session_state
    dataset = s["train_folder"].strip() if s["train_dataset"] == "folder" else s["train_dataset"]
    if not dataset:
        s["_train_error"] = "Type the path of a folder of images."
        return
    try:
        handle = runs.start_run(services.runs_dir(), dataset, s["train_image_size"], s["train_steps"],
                                s["train_batch_size"], s["train_lr"], s["train_loss"], s["train_d_steps"],
                                label_smoothing=s["train_label_smoothing"], instance_noise=s["train_instance_noise"])
    except runs.RunError as error:
        s["_train_error"] = str(error)
        return
    s["_train_error"] = ""
    s["_train_last"] = handle.name
    s["training_run"] = handle.name  # the Training page follows the new run


@st.fragment(run_every=2)
def _follow_active_run() -> None:
    """Only this panel reruns every 2 s; when the run ends, a full rerun lists its checkpoint in the picker."""
    handle = runs.active_run(services.runs_dir())
    if handle is None:
        st.rerun()
    progress = runs.read_progress(handle.run_dir)
    with st.container(border=True, key="training_panel_active"):
        st.caption("TRAINING NOW")
        st.markdown(f"**{handle.name}**")
        st.progress(progress.fraction, text=describe_progress(progress))
        left, right = st.columns(2)
        with left:
            stop_button(handle, key="training_panel_stop")
        with right:
            st.page_link(training_page(), label="Watch", icon=":material/monitoring:")


def _last_run_note() -> None:
    """One line about the run this session started last, once it has ended (why, if it failed)."""
    name = st.session_state.get("_train_last")
    if not name or not (services.runs_dir() / name).is_dir():
        return
    progress = runs.read_progress(services.runs_dir() / name)
    if progress.state == "failed":
        st.error(f"**{name}** failed: {progress.failure}", icon=":material/error:")
    elif progress.state in ("finished", "stopped"):
        if progress.state == "finished":
            st.success(f"**{name}** finished.", icon=":material/check_circle:")
        else:
            st.info(f"**{name}** stopped at step {progress.step:,}.", icon=":material/stop_circle:")
        if progress.has_generator and st.button("Open it in the explorer", key="training_panel_open",
                                                icon=":material/explore:", width="stretch",
                                                on_click=open_in_explorer, args=(progress.run_dir,)):
            st.switch_page(samples_page())
