"""The sidebar shown on every page: checkpoint picker and upload, model card, sharing, presentation, training."""

from __future__ import annotations

import contextlib
import datetime
from urllib.parse import urlencode

import streamlit as st

from dashboard import deck, services, state, training_panel
from dashboard.arrivals import ARRIVALS, LATER
from dashboard.text import plain

PRESENTATION_CSS = """
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
  [data-testid="stToolbar"] { display: none !important; }
  .block-container { padding-top: 1rem !important; max-width: 100% !important; }
  /* the bar floats at the top right, beside the page's heading: a row of its own costs a 720-px projector 56 px */
  [data-testid="stLayoutWrapper"]:has(> .st-key-presentation_bar) {
    position: fixed; top: 0.75rem; right: 1.5rem; z-index: 1000; width: auto !important;
    background: rgba(255, 255, 255, 0.9); border-radius: 0.5rem;
  }
</style>
"""


def render() -> None:
    deck.follow()  # a slide chosen by a deck button's callback: its page
    deck.read_link()  # a ?deck= link on a session's first run
    _choose_default_checkpoint()
    _drop_unusable_images()
    if state.current_checkpoint():
        services.forget_stale_results(state.current_checkpoint())
        services.warm_up(state.current_checkpoint(), ARRIVALS, LATER)  # once per server, in the background
    if st.session_state["presentation"]:
        st.html(PRESENTATION_CSS)  # style only: st.html takes no row (st.markdown's took one gap)
        # one row: the deck's slide counter beside the button
        with st.container(horizontal=True, vertical_alignment="center", key="presentation_bar"):
            st.button(
                "Exit presentation",
                key="exit_presentation",
                icon=":material/close_fullscreen:",
                on_click=lambda: st.session_state.update(presentation=False),
            )
            deck.render_stepper()  # the arrow keys step through the deck's slides
        return
    with st.sidebar:
        st.title("GAN Latent Explorer")
        # the speaker's controls first: in a 900-px window they are on screen without scrolling the sidebar
        _share()
        deck.render_add()
        st.toggle(
            "Presentation mode",
            key="presentation",
            help="Wide layout, large images, controls hidden. Bookmark the link first: it reproduces this exact view.",
        )
        _checkpoint_picker()
        _model_card()
        st.divider()
        training_panel.render()


def _choose_default_checkpoint() -> None:
    """A missing or unknown checkpoint id (first visit, a stale or hostile link) falls back to the first bundled
    file. This fills in a default, like state.init_state, rather than switching models, so pins from the URL are
    kept. The notice never repeats the id: it is the link's text, not ours."""
    wanted = st.session_state.get("checkpoint", "")
    if wanted and services.is_listed(wanted):
        return
    if wanted:
        state.add_url_notice("The link's checkpoint is not one this app lists; the default is open instead.")
    choices = services.list_checkpoints()
    st.session_state["checkpoint"] = choices[0].id if choices else ""


def _drop_unusable_images() -> None:
    """Your images come as latent codes, from this session or a link: one that is not a latent of the open model
    (hand-edited, hostile, or made under a model with another latent size) is unpinned, and the notice says so
    with ganlib.latent_code's reason, never the link's text."""
    codes, path = tuple(st.session_state["projected"]), state.current_checkpoint()
    if not codes or not path:
        return
    try:
        problems = services.latent_code_problems(path, codes)
    except services.CheckpointError:
        return  # the pages say what is wrong with the file
    refused = [index for index, problem in enumerate(problems) if problem]
    if not refused:
        return
    for index in reversed(refused):
        state.remove_projected(codes[index])
    which = ", ".join(str(index + 1) for index in refused)
    state.add_url_notice(
        f"The link's image{'s' if len(refused) > 1 else ''} {which} (z) {'were' if len(refused) > 1 else 'was'} "
        f"ignored: {problems[refused[0]]}."
    )


def _checkpoint_picker() -> None:
    choices = services.list_checkpoints()
    if not choices:
        st.warning("No checkpoints found. Train one below, or upload a .safetensors file.")
    labels = {choice.id: choice.label for choice in choices}
    current = state.current_checkpoint()
    # The picker always shows the checkpoint in use, however it was chosen (URL, upload, a finished run)
    st.session_state["_checkpoint_choice"] = current if current in labels else next(iter(labels), None)
    st.selectbox(
        "Checkpoint",
        options=list(labels),
        format_func=labels.get,
        key="_checkpoint_choice",
        on_change=_switch_checkpoint,
    )
    uploader_key = f"upload_{st.session_state.get('_upload_round', 0)}"
    upload = st.file_uploader(
        f"Open your own checkpoint (.safetensors, up to {services.MAX_UPLOAD_MB} MB)",
        type=["safetensors"],
        key=uploader_key,
    )
    if upload is not None:
        try:
            path = services.save_upload(upload.name, upload.getvalue())
        except services.CheckpointError as error:
            # Shown once, and the uploader is emptied: a refused file does not stay "uploaded" on every page.
            st.session_state["_checkpoint_error"] = str(error)
        else:
            state.open_checkpoint(path)  # save_upload has loaded it already
        st.session_state["_upload_round"] = st.session_state.get("_upload_round", 0) + 1
        st.rerun()
    error = st.session_state.pop("_checkpoint_error", None)
    if error:
        st.error(plain(error), icon=":material/error:")


def _switch_checkpoint() -> None:
    """The picker's callback: a bad file leaves the current model in place, with the reason shown."""
    try:
        state.open_checkpoint(st.session_state["_checkpoint_choice"], check=services.explorer)
    except services.CheckpointError as error:
        st.session_state["_checkpoint_error"] = f"{error} (kept {state.current_checkpoint()})"  # shown plain
        st.session_state["_checkpoint_choice"] = state.current_checkpoint()


def model_card_lines(metadata: dict) -> list[tuple[str, str]]:
    model, dataset, training = metadata.get("model", {}), metadata.get("dataset", {}), metadata.get("training", {})
    created = metadata.get("created", "")
    with contextlib.suppress(ValueError):  # another format is shown as it is
        created = datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z").strftime("%Y-%m-%d")
    device = training.get("device", "unknown")
    rows = [
        ("Data set", f"{dataset.get('name', '?')} ({dataset.get('num_images', '?')} images)"),
        (
            "Image",
            f"{model.get('image_size')} px, {model.get('channels')} channel{'s' if model.get('channels') != 1 else ''}",
        ),
        ("Latent dim", str(model.get("latent_dim"))),
        ("Steps", f"{training.get('steps', '?')} ({training.get('images_seen', '?')} images)"),
        ("Trained on", f"{device}, {training.get('wall_seconds', '?')} s"),
        ("Date", created),
    ]
    attributes = dataset.get("attributes") or {}
    if attributes:
        rows.append(("Attributes", ", ".join(attributes)))
    return rows


def _model_card() -> None:
    path = state.current_checkpoint()
    if not path:
        return
    try:
        metadata = services.metadata(path)
    except services.CheckpointError as error:
        st.error(plain(error))
        return
    # Everything after a label comes from the file: shown as literal text, never as markdown (links, images).
    # Folded: the card is long, and what a speaker needs stays above it.
    with st.expander("Model card", icon=":material/badge:", key="model_card"):
        st.markdown("\n".join(f"**{name}:** {plain(value)}  " for name, value in model_card_lines(metadata)))
        evaluation = metadata.get("evaluation")
        if evaluation:
            st.markdown("\n".join(f"**{plain(k)}:** {plain(v)}  " for k, v in evaluation.get("summary", {}).items()))
        if metadata.get("notes"):
            st.caption(plain(metadata["notes"]))


def share_url() -> str:
    """The current view as a link: page path plus every non-default value in the query string."""
    base = (st.context.url or "").split("?", 1)[0]
    query = urlencode(state.url_params())
    return f"{base}?{query}" if query else base


def _share() -> None:
    with st.popover("Copy link to this view", icon=":material/link:", width="stretch"):
        st.caption(
            "The link reproduces the page, checkpoint, seeds and settings. Point at the link: a copy icon "
            "appears at its top right."
        )
        st.code(share_url(), language=None, wrap_lines=True)
