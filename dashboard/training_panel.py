"""Sidebar panel "Train a model": start a run (in its own process, via services), follow it, stop it.

Only one run trains at a time on this machine, whichever browser session started it, so every session shows the
active run here. The settings are plain session values kept alive across pages; they are not in the URL
(a shared link shows a view, it should not carry someone's half-typed training settings).
"""

from __future__ import annotations

import streamlit as st

from dashboard import pages, services
from dashboard.run_widgets import describe_progress, format_duration, open_button, stop_button
from dashboard.text import plain
from ganlib import config  # plain declarations (no torch): the form is derived from TrainConfig's settings

DATASET_LABELS = {"toonfaces": "Toon faces", "digits": "Digits", "folder": "Folder…"}
DATASET_KEY, FOLDER_KEY = "train_dataset", "train_folder"
MAX_FOLDER_PATH = 4096  # ganlib.runs.MAX_FOLDER_PATH (PATH_MAX): a longer path names no folder


def _form_settings() -> dict:
    """The TrainConfig settings the form shows (those with a label), in declaration order; data set first."""
    return {name: entry for name, entry in config.settings().items() if entry[1].label and name != "dataset"}


def _key(name: str) -> str:
    return f"train_{name}"


def render() -> None:
    defaults = {
        DATASET_KEY: config.TrainConfig.dataset,
        FOLDER_KEY: "",
        **{
            _key(name): field.default if spec.form_default is None else spec.form_default
            for name, (field, spec) in _form_settings().items()
        },
    }
    for key, default in defaults.items():  # re-assigning keeps a widget's value while the form is hidden
        st.session_state[key] = st.session_state.get(key, default)
    if services.active_run() is not None:
        _follow_active_run()
        return
    if st.session_state.pop("_train_refused", None):  # the run that kept this session's start out has ended
        st.session_state["_train_error"] = ""
    _last_run_note()
    error = st.session_state.get("_train_error", "")
    with st.expander("Train a model", icon=":material/model_training:", expanded=bool(error)):
        settings, problems = _settings()
        st.button(
            "Start training",
            key="training_start",
            type="primary",
            icon=":material/play_arrow:",
            width="stretch",
            on_click=_start,
            args=(settings,),
            disabled=bool(problems),
        )
        if error:
            st.error(plain(error), icon=":material/error:")  # it may quote a typed folder path: never markdown


def _settings() -> tuple[config.TrainConfig | None, list[str]]:
    """Draw the form from TrainConfig's Settings; returns the config (None while a value is invalid) and the
    problems, each also shown beside its field."""
    st.radio("Data set", list(DATASET_LABELS), format_func=DATASET_LABELS.get, key=DATASET_KEY, horizontal=True)
    if st.session_state[DATASET_KEY] == "folder":
        st.text_input(
            "Folder of images",
            key=FOLDER_KEY,
            placeholder="/path/to/images",
            help="Any folder of PNG/JPEG images (subfolders become class labels). "
            "Images are centre-cropped to squares.",
        )
    values, problems = {}, []
    form = _form_settings()
    choices = [name for name, (_, spec) in form.items() if spec.choices is not None]
    toggles = [name for name, (field, spec) in form.items() if spec.choices is None and isinstance(field.default, bool)]
    numbers = [name for name in form if name not in choices and name not in toggles]
    columns = {}
    for name in choices:
        spec = form[name][1]
        labels = spec.choice_labels or {}
        widget = st.radio if all(isinstance(choice, int) for choice in spec.choices) else st.selectbox
        options = {"horizontal": True} if widget is st.radio else {}
        widget(
            spec.label,
            spec.choices,
            format_func=lambda c, labels=labels: labels.get(c, str(c)),
            key=_key(name),
            help=spec.help,
            **options,
        )
    pair = st.columns(2)
    for position, name in enumerate(numbers):
        spec = form[name][1]
        # No min/max on the widget: an out-of-range value stays visible, with the reason beside it.
        columns[name] = pair[position % 2]
        columns[name].number_input(spec.label, step=spec.step, format=spec.format, key=_key(name), help=spec.help)
    for name in toggles:
        st.toggle(form[name][1].label, key=_key(name), help=form[name][1].help)
    for name in form:
        values[name] = st.session_state[_key(name)]
        problem = config.validate_setting(name, values[name])
        if problem:
            columns.get(name, st).error(problem, icon=":material/error:")  # the setting's own words and bounds
            problems.append(problem)
    values["dataset"] = _dataset()
    if not values["dataset"]:
        problems.append("Type the path of a folder of images.")
    elif len(values["dataset"]) > MAX_FOLDER_PATH:
        problems.append(f"The folder's path is longer than {MAX_FOLDER_PATH:,} characters.")
        st.error(problems[-1], icon=":material/error:")
    if problems:
        return None, problems
    try:
        settings = config.TrainConfig(**values)
    except ValueError as error:
        st.error(plain(error), icon=":material/error:")
        return None, [str(error)]
    first_time = (
        " The first toon-faces run at a new size renders the faces first (about a minute)."
        if settings.dataset == "toonfaces"
        else ""
    )
    st.caption(
        f"About **{format_duration(services.estimate_seconds(settings))}** on this CPU (one thread; measured "
        f"≈ 2 steps/s for 32 px at batch 64, 64 px is ≈ 4× slower; longer while other work shares the "
        f"CPU).{first_time}"
    )
    return settings, []


def _dataset() -> str:
    s = st.session_state
    return s[FOLDER_KEY].strip() if s[DATASET_KEY] == "folder" else s[DATASET_KEY]


def _start(settings: config.TrainConfig | None) -> None:
    s = st.session_state
    if settings is None:
        return
    try:
        handle = services.start_run(settings)
    except services.RunBusy as busy:  # another session started a run a moment earlier: say which, not a bare error
        s["_train_refused"] = busy.active.name
        s["_train_error"] = str(busy)
        return
    except services.RunError as error:  # ganlib.runs says a full disk or any other OSError in this one line too
        s["_train_error"] = str(error)
        return
    except OSError as error:  # a net under that: never a traceback in the sidebar
        s["_train_error"] = f"could not start the run: {error.strerror or error}"
        return
    s["_train_error"] = ""
    s["_train_last"] = handle.name
    s["training_run"] = handle.name  # the Training page follows the new run


@st.fragment(run_every=2)
def _follow_active_run() -> None:
    """Only this panel reruns every 2 s; when the run ends, a full rerun lists its checkpoint in the picker."""
    handle = services.active_run()
    if handle is None:
        st.rerun()
    progress = services.run_progress(handle.name)
    with st.container(border=True, key="training_panel_active"):
        st.caption("TRAINING NOW")
        st.markdown(f"**{plain(handle.name)}**")
        if st.session_state.get("_train_refused") == handle.name:
            st.warning(
                "Your run was not started: this one, from another browser session, was already training. One run "
                "trains at a time; anyone here can stop it, or start yours when it ends.",
                icon=":material/group:",
            )
        elif st.session_state.get("_train_last") != handle.name:
            st.caption("Started from another browser session (or the command line); anyone here can stop it.")
        st.progress(progress.fraction, text=describe_progress(progress))
        left, right = st.columns(2)
        with left:
            stop_button(handle, key="training_panel_stop")
        with right:
            st.page_link(pages.page("training"), label="Watch", icon=":material/monitoring:")


def _last_run_note() -> None:
    """One line about the run this session started last, once it has ended (why, if it failed)."""
    name = st.session_state.get("_train_last")
    if not name or not (services.runs_dir() / name).is_dir():
        return
    progress = services.run_progress(name)
    if progress.state in ("failed", "diverged"):
        st.error(f"**{plain(name)}** {progress.state}: {plain(progress.failure)}", icon=":material/error:")
    elif progress.state in ("finished", "stopped"):
        if progress.state == "finished":
            st.success(f"**{plain(name)}** finished.", icon=":material/check_circle:")
        else:
            st.info(f"**{plain(name)}** stopped at step {progress.step:,}.", icon=":material/stop_circle:")
        if progress.has_generator:
            open_button(name, "Open it in the explorer", key="training_panel_open", width="stretch")
