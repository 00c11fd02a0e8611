"""Your image: the latent whose image G(z) looks most like your own picture (uploaded, picked from the data set, or
drawn), shown beside it with the distance, and kept as a pin that Interpolate, Arithmetic and the Latent map use.

The pictures stay in this browser session; what is pinned, and so what a link keeps, is only the latent, as text
(state["projected"]). A shared link therefore shows G(z), the reconstruction, and never the picture.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from dashboard import pages, services, state
from dashboard.text import plain
from dashboard.views import attribute_edits, projected_faces
from dashboard.views.common import model_or_stop, tile_scale

MAX_PICTURES = state.MAX_PROJECTED  # pictures on the page at once, and read from one upload
IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]
PICK_COUNT = 8
MAX_PICK_FIRST = 992  # renders are made on demand: the first 1,000 held-out faces
CANVAS_PIXELS = 256
SOURCES = ("Upload", "From the data set", "Draw")


def render() -> None:
    path = state.current_checkpoint()
    model = model_or_stop(path)
    presenting = st.session_state["presentation"]
    st.header("Your image in the latent space")
    if model.latent_dim > services.MAX_LINK_LATENT_DIM:  # a link could not hold the latent it would pin
        st.info(
            f"This model's latents have {model.latent_dim} values; a link holds at most "
            f"{services.MAX_LINK_LATENT_DIM}, so its latents cannot be pinned here. `python -m ganlib project` "
            "finds them from the command line.",
            icon=":material/info:",
        )
        return
    if not presenting:
        st.caption(
            "Which latent z makes the picture most like yours? Projection starts from the encoder's guess where the "
            "model has one, then moves z to bring G(z) closer to your picture. Pinned, the latent works on every "
            "page, and the link keeps it (as text), never your picture."
        )
        _inputs(path, model)
    _results(path, model, presenting)
    _pinned(path, model, presenting)


# ------------------------------------------------------------------------------------------------------ inputs
def _inputs(path: str, model) -> None:
    source = st.segmented_control("Picture from", SOURCES, key="_picture_source", default=SOURCES[0])
    if source == "From the data set":
        _pick(path, model)
    elif source == "Draw":
        _draw(path, model)
    else:
        _upload(path)
    for error in st.session_state.pop("_picture_errors", []):
        st.error(plain(error), icon=":material/error:")


def _upload(path: str) -> None:
    # a new key empties the uploader once its files are read (the sidebar's idiom): nothing is read twice
    key = f"picture_upload_{st.session_state.get('_picture_round', 0)}"
    files = st.file_uploader(
        f"Your pictures: any size, PNG, JPEG, ... (up to {MAX_PICTURES} at a time, {services.MAX_PICTURE_MB} MB each)",
        type=IMAGE_TYPES,
        accept_multiple_files=True,
        key=key,
    )
    if not files:
        return
    errors = []
    for upload in files[:MAX_PICTURES]:
        try:
            _add(path, upload.name, services.read_picture(path, upload.name, upload.getvalue()))
        except services.ImageFileError as error:
            errors.append(str(error))
    if len(files) > MAX_PICTURES:
        errors.append(f"At most {MAX_PICTURES} pictures at a time: the first {MAX_PICTURES} were read.")
    st.session_state["_picture_errors"] = errors
    st.session_state["_picture_round"] = st.session_state.get("_picture_round", 0) + 1
    st.rerun()


def _pick(path: str, model) -> None:
    first = min(MAX_PICK_FIRST, max(0, int(st.session_state.get("_pick_first", 0))))
    st.session_state["_pick_first"] = first
    found = services.dataset_pictures(path, first, PICK_COUNT)
    if found is None:
        st.info(f"The data set of this model ({plain(model.dataset_name)}) has no built-in pictures: upload one.")
        return
    pictures, note = found
    left, right = st.columns([1, 4], vertical_alignment="bottom")
    left.number_input("From picture", 0, MAX_PICK_FIRST, step=PICK_COUNT, key="_pick_first")
    right.caption(plain(note) + ". Press **use** under one to find it in the latent space.")
    scale = tile_scale(model.image_size)
    for index, (cell, picture) in enumerate(zip(st.columns(PICK_COUNT, gap="small"), pictures)):
        with cell:
            st.image(services.upscaled(_rgb(picture), scale), caption=f"#{first + index}", width="stretch")
            st.button(
                "use",
                key=f"pick_{index}",
                width="stretch",
                on_click=_add,
                args=(path, f"data set picture {first + index}", picture),
            )


def _draw(path: str, model) -> None:
    # imported here, not at the top: importing it registers its component with the running app, which exists only
    # inside a script run (a test importing the views would fail); and an environment made before it was added to
    # requirements.txt still runs the rest of the app
    try:
        from streamlit_drawable_canvas import st_canvas
    except ImportError:
        st.info("Drawing needs the streamlit-drawable-canvas package: `pip install -r requirements.txt`.")
        return
    dark = model.dataset_name == "digits"  # light strokes on black, as the digits are
    canvas, controls = st.columns([2, 3])
    with controls:
        st.slider("Brush", 2, 40, value=28 if dark else 8, key="_brush")  # digits are thick strokes
        ink = "#ffffff" if dark else st.color_picker("Ink", "#000000", key="_ink")
        st.caption(
            "Draw in the square, then press **Find my drawing**. "
            + ("Draw a digit, large, as in the data set." if dark else "A face fills the square, as in the data set.")
        )
    with canvas:
        drawing = st_canvas(
            stroke_width=int(st.session_state["_brush"]),
            stroke_color=ink,
            background_color="#000000" if dark else "#ffffff",
            height=CANVAS_PIXELS,
            width=CANVAS_PIXELS,
            drawing_mode="freedraw",
            return_image_data=True,
            key="_canvas",
        )
    try:  # what the component sends is the browser's to shape: a malformed value means nothing drawn
        drawn = bool((drawing.json_data or {}).get("objects")) and drawing.image_bytes is not None
    except (AttributeError, TypeError, ValueError):
        drawn = False
    if controls.button("Find my drawing", key="project_drawing", type="primary", disabled=not drawn):
        try:
            _add(path, "your drawing", services.read_picture(path, "your drawing", drawing.image_bytes))
        except services.ImageFileError as error:
            st.session_state["_picture_errors"] = [str(error)]


def _add(path: str, name: str, picture: np.ndarray) -> None:
    """Keep a picture (as the model sees it) for this session, newest last; the oldest goes beyond MAX_PICTURES."""
    held = _held(path)
    digest = hashlib.sha1(picture.tobytes()).hexdigest()
    items = [item for item in held["items"] if item["digest"] != digest]
    items.append({"name": name[:80], "picture": picture, "digest": digest, "new": True})
    held["items"] = items[-MAX_PICTURES:]


def _held(path: str) -> dict:
    """This session's pictures for the open checkpoint (another model sees them at another size: they go)."""
    held = st.session_state.get("_pictures")
    if not held or held["checkpoint"] != path:
        held = st.session_state["_pictures"] = {"checkpoint": path, "items": []}
    return held


def _rgb(picture: np.ndarray) -> np.ndarray:
    return np.repeat(picture, 3, axis=-1) if picture.shape[-1] == 1 else picture


# ----------------------------------------------------------------------------------------------------- results
def _search_settings(path: str, presenting: bool) -> tuple[int, int]:
    """(restarts, steps): ganlib project's where the model has an encoder; fewer without, to answer in seconds."""
    # another model, or widgets Streamlit dropped on a run that did not draw them (presentation mode, another page)
    if st.session_state.get("_search_for") != path or "_search_restarts" not in st.session_state:
        st.session_state["_search_restarts"], st.session_state["_search_steps"] = services.projection_defaults(path)
        st.session_state["_search_for"] = path
    has_encoder, problem = services.encoder_status(path)
    if not presenting:
        with st.expander("Search settings", icon=":material/tune:"):
            left, right = st.columns(2)
            left.number_input("Starts", 1, 8, key="_search_restarts", help="Starting points optimised together.")
            right.number_input("Steps", 1, 400, key="_search_steps", help="Adam steps from each start.")
            st.caption(
                "This model has an encoder: E(x) is the first start."
                if has_encoder
                else "This model has no encoder (`python -m ganlib train-encoder` makes one): every start is random. "
                "`ganlib project` takes 8 × 200, a closer match in about five times as long."
            )
            if problem:
                st.caption(f"The encoder beside the checkpoint was not used: {plain(problem)}")
    return int(st.session_state["_search_restarts"]), int(st.session_state["_search_steps"])


def _results(path: str, model, presenting: bool) -> None:
    items = _held(path)["items"]
    if not items:
        return
    restarts, steps = _search_settings(path, presenting)
    new = sum(1 for item in items if item["new"])
    bar = st.progress(0.0) if new else None
    done, full = 0, False
    scale = tile_scale(model.image_size, presenting)
    for index, item in enumerate(items):
        if bar is not None and item["new"]:
            bar.progress(done / new, text=f"Finding {plain(item['name'])}: {restarts} starts × {steps} steps")
        if "failed" not in item:
            try:
                result = services.project_picture(path, item["picture"], restarts, steps)
            except services.NonFiniteProjection as error:  # kept, so that a rerun does not search again
                item["failed"] = f"No latent was found for {plain(item['name'])}: {error}."
        if "failed" in item:
            if item["new"]:
                item["new"], done = False, done + 1
            st.warning(item["failed"], icon=":material/warning:")
            continue
        if item["new"]:  # a new picture's latent is pinned at once: that is what the user came for
            item["new"] = False
            done += 1
            full |= not state.add_projected(result.code)
        _result_row(index, item["name"], result, scale)
    if bar is not None:
        # once more: the sidebar, drawn before this page, offers a link without the new pins until the next run
        st.session_state["_pins_full"] = full
        st.rerun()
    if st.session_state.pop("_pins_full", False):
        st.warning(f"At most {state.MAX_PROJECTED} images can be pinned (a link holds them): unpin one first.")
    if not presenting:
        st.button(
            "Clear these pictures",
            key="clear_pictures",
            icon=":material/delete:",
            help="Your pictures leave this page; their pins stay until you unpin them.",
            on_click=lambda: _held(path)["items"].clear(),
        )


def _result_row(index: int, name: str, result, scale: int) -> None:
    pinned = result.code in st.session_state["projected"]
    with st.container(border=True, key=f"result_{index}"):
        picture, reconstruction, numbers = st.columns([1, 1, 3], vertical_alignment="center")
        picture.image(services.upscaled(_rgb(result.target), scale), caption=plain(name), width="stretch")
        reconstruction.image(services.upscaled(result.reconstruction, scale), caption="G(z)", width="stretch")
        with numbers:
            st.metric(
                "PSNR",
                f"{result.psnr:.1f} dB",
                help="Peak signal-to-noise ratio of G(z) against your picture: higher is closer. A random sample "
                "against the same picture scores about 10 dB.",
            )
            start = "from the encoder's guess" if result.start == "encoder" else "from random starts"
            term = {"classifier": "the attribute classifier's features", "discriminator": "D's features"}
            if result.unlike_the_model:
                st.warning(
                    f"Not found: this picture is far from anything the model makes, and G(z) is no closer to it "
                    f"than a random sample would be ({result.psnr:.1f} dB against {result.chance_psnr:.1f} dB).",
                    icon=":material/warning:",
                )
            st.caption(
                f"Found in {result.seconds:.1f} s: {result.restarts} starts × {result.steps} steps {start}; "
                f"pixels and {term[result.perceptual]} compared."
                if result.perceptual in term
                else f"Found in {result.seconds:.1f} s: {result.restarts} starts × {result.steps} steps {start}; "
                "pixels compared."
            )
            st.button(
                "pinned" if pinned else "pin",
                key=f"pin_picture_{index}",
                icon=":material/keep:",
                type="primary" if pinned else "secondary",
                on_click=_toggle,
                args=(result.code,),
            )


def _toggle(code: str) -> None:
    if code in st.session_state["projected"]:
        state.remove_projected(code)
    elif not state.add_projected(code):
        st.toast(f"At most {state.MAX_PROJECTED} images can be pinned: unpin one first.", icon=":material/warning:")


# ------------------------------------------------------------------------------------------------------ pinned
def _pinned(path: str, model, presenting: bool) -> None:
    pinned = projected_faces.codes(path)
    st.subheader("Pinned: your images in the link")
    if not pinned:
        st.caption(
            "Nothing pinned yet. Upload a picture, pick one from the data set or draw one: its latent is pinned "
            "and shown here."
        )
        return
    images = services.code_images(path, pinned)
    if not presenting:
        st.caption(
            "Made by G from the latents the link keeps: open the link anywhere and these are back, without your "
            "pictures. Interpolate offers them as endpoints, Arithmetic edits them beside its sample faces, and "
            "the Latent map marks where they land."
        )
    scale = tile_scale(model.image_size, presenting)
    for index, (cell, image) in enumerate(zip(st.columns(state.MAX_PROJECTED, gap="small"), images)):
        with cell, st.container(key=f"pinned_{index}"):
            st.image(services.upscaled(image, scale), caption=f"your image {index + 1}", width="stretch")
            if not presenting:
                st.button(
                    "unpin",
                    key=f"unpin_{index}",
                    icon=":material/close:",
                    width="stretch",
                    on_click=state.remove_projected,
                    args=(pinned[index],),
                )
    if not presenting:
        _actions(path, model)


def _actions(path: str, model) -> None:
    seed = st.session_state["pins"][0] if st.session_state["pins"] else 42
    walk, edit, where = st.columns(3)
    if walk.button(f"Walk from your image 1 to seed {seed}", key="walk_from_image", icon=":material/timeline:"):
        st.session_state["endpoints"] = [state.projected_token(0), seed]
        st.switch_page(pages.page("interpolate"))
    can_add = model.classifier is not None and "sunglasses" in services.binary_attributes(path)
    if can_add and edit.button("Add sunglasses to them", key="sunglasses_on_images", icon=":material/auto_awesome:"):
        st.session_state.update(arithmetic_mode="Directions", **attribute_edits.DEMO)
        st.switch_page(pages.page("arithmetic"))
    if where.button("Where they land on the latent map", key="images_on_map", icon=":material/scatter_plot:"):
        st.session_state["map_method"] = "PCA"
        st.switch_page(pages.page("map"))
