"""AppTest of the Your image page and of your images on the other pages: a rendered face uploaded, found, pinned and
kept in the link; the link alone shows it again; pictures and link codes that cannot be used get one line each.

Projection runs with 1 start x 3 steps from the encoder here (the page's own defaults are 2 x 150): enough to
check the wiring and that the latent found is near the face, in well under a second."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from app_support import isolate_app, run_view
from PIL import Image

from dashboard import services
from ganlib.data.toonfaces import HELD_OUT_SEED, render_toonfaces
from ganlib.latent_code import encode_latent

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "checkpoints" / "toonfaces64.safetensors"
ENCODER = ROOT / "checkpoints" / "toonfaces64.encoder.safetensors"
QUICK_SEARCH = {"_search_restarts": 1, "_search_steps": 3}
needs_bundled = pytest.mark.skipif(
    not (BUNDLED.is_file() and ENCODER.is_file()), reason="needs toonfaces64 and its encoder"
)


@pytest.fixture
def faces_app(tmp_path, monkeypatch):
    """toonfaces64 with its encoder, the page's real case."""
    checkpoints = isolate_app(tmp_path, monkeypatch, BUNDLED)
    (checkpoints / ENCODER.name).write_bytes(ENCODER.read_bytes())


@pytest.fixture
def tiny_app(tmp_path, monkeypatch, tiny_checkpoint):
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)  # latent_dim 8, no classifier, no encoder


def quick(at, path="bundled/toonfaces64"):
    for key, value in {**QUICK_SEARCH, "_search_for": path}.items():
        at.session_state[key] = value
    return at


def png(array: np.ndarray, size: tuple[int, int] | None = None) -> bytes:
    image = Image.fromarray(array)
    buffer = io.BytesIO()
    (image.resize(size, Image.Resampling.BICUBIC) if size else image).save(buffer, "PNG")
    return buffer.getvalue()


def texts(elements) -> str:
    return " ".join(element.value for element in elements)


def image_captions(at) -> list[str]:
    return [image.caption for element in at.main.get("image") for image in element.proto.imgs]


@needs_bundled
@pytest.mark.slow
def test_an_uploaded_face_is_found_pinned_and_kept_in_the_link(faces_app, monkeypatch):
    calls = []
    project = services.inversion.project
    monkeypatch.setattr(services.inversion, "project", lambda *a, **k: calls.append(1) or project(*a, **k))
    face = render_toonfaces(1, seed=HELD_OUT_SEED)[0][0]
    at = quick(run_view("your_image", timeout=120))
    assert not at.exception and "Nothing pinned yet" in texts(at.main.caption)
    # a face of another size: resized to the model's 64 x 64
    at.file_uploader(key="picture_upload_0").upload("me.png", png(face, (160, 160)), "image/png").run()
    assert not at.exception and not at.main.error
    psnr = float(at.main.metric[0].value.removesuffix(" dB"))
    assert psnr > 15  # random samples score about 10 dB against a face
    assert "Found in" in texts(at.main.caption) and "from the encoder's guess" in texts(at.main.caption)
    codes = at.session_state["projected"]
    assert len(codes) == 1 and codes[0].startswith("z1.") and len(codes[0]) == 270
    assert at.query_params["z"] in (codes[0], [codes[0]])  # the link keeps the latent, never the picture
    assert "me.png" in image_captions(at) and "G(z)" in image_captions(at) and "your image 1" in image_captions(at)
    at.run()
    at.run()
    assert len(calls) == 1  # reruns read the projection from the cache
    # the link alone, in a fresh session: the reconstruction comes back without the upload
    fresh = run_view("your_image", timeout=120, z=codes[0])
    assert not fresh.exception and fresh.session_state["projected"] == codes
    assert image_captions(fresh) == ["your image 1"] and "me.png" not in image_captions(fresh)


@needs_bundled
@pytest.mark.slow
def test_a_held_out_face_picked_from_the_data_set_is_found(faces_app):
    at = quick(run_view("your_image", timeout=120, session_state={"_picture_source": "From the data set"}))
    assert not at.exception
    assert f"seed {HELD_OUT_SEED}" in texts(at.main.caption)  # faces no bundled network saw
    at.button(key="pick_2").click().run()
    assert not at.exception
    assert "data set picture 2" in image_captions(at) and len(at.session_state["projected"]) == 1


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("notes.png", b"a text file with a picture's name", "notes.png: not an image that PIL can read"),
        ("cut.png", None, "cut.png: truncated or corrupt"),
        ("huge.png", None, "huge.png: 9000 x 5000 pixels, more than the 40 megapixels allowed"),
    ],
)
def test_a_picture_that_cannot_be_used_gets_one_line_and_the_page_goes_on(tiny_app, name, data, message):
    if name == "cut.png":
        data = png(np.zeros((64, 64, 3), np.uint8) + 90)[:60]
    elif name == "huge.png":  # small on disk (one bit per pixel, all white), 45 megapixels in its header
        buffer = io.BytesIO()
        Image.new("1", (9000, 5000), 1).save(buffer, "PNG")
        data = buffer.getvalue()
    at = run_view("your_image")
    at.file_uploader(key="picture_upload_0").upload(name, data, "image/png").run()
    assert not at.exception
    errors = [error.value.replace("\\", "") for error in at.main.error]  # shown escaped as markdown
    assert len(errors) == 1 and errors[0].startswith(message) and "\n" not in errors[0]
    assert at.session_state["projected"] == [] and at.file_uploader(key="picture_upload_1")  # emptied for the next
    at.run()
    assert not at.main.error  # said once


def code(dim: int, seed: int = 0) -> str:
    return encode_latent(torch.randn(dim, generator=torch.Generator().manual_seed(seed)))


@pytest.mark.parametrize(
    "link, kept, notice",
    [
        (
            "good,short",
            1,
            "The link's image 2 (z) was ignored: a latent code for 8 values is 25 characters long, got 7.",
        ),
        ("good,other", 2, ""),
        ("z1.!!!", 0, "The link's z (not a latent code) was ignored"),
        ("z1." + "A" * 20_000, 0, "The link's z (too long) was ignored"),
        (",".join(["z1.AAAAAAAAAAA"] * 9), 0, "The link's z (more than 8 images) was ignored"),
        ("infinite", 0, "The link's image 1 (z) was ignored: the latent code holds a value that is not finite"),
        ("bits", 0, "The link's image 1 (z) was ignored: the latent code is not in canonical form"),
    ],
)
def test_link_codes_that_are_not_latents_of_this_model_are_dropped_with_one_line(tiny_app, link, kept, notice):
    import base64

    words = {
        "good": code(8),
        "other": code(8, 1),
        "short": "z1.AAAA",
        "infinite": "z1." + base64.urlsafe_b64encode(b"\x00\x7c" * 8).decode().rstrip("="),  # float16 inf
        "bits": code(8)[:-1] + "B",  # the last character's spare bits set: not what encode_latent writes
    }
    text = ",".join(words.get(part, part) for part in link.split(","))
    at = run_view("your_image", z=text)
    assert not at.exception
    assert len(at.session_state["projected"]) == kept
    toasts = [toast.value for toast in at.toast]
    if notice:
        assert len(toasts) == 1 and toasts[0].startswith(notice) and "\n" not in toasts[0], toasts
        assert "AAAA" not in toasts[0] and "!!!" not in toasts[0]  # the reason, never the link's text
    else:
        assert not toasts
    assert image_captions(at) == [f"your image {i + 1}" for i in range(kept)]


@pytest.mark.slow
def test_your_image_is_an_endpoint_and_a_star_on_the_map(tiny_app):
    """Walk from my face to seed 42; unpinning it takes it out of the walk; the map marks where it lands."""
    first, second = code(8), code(8, 1)
    at = run_view("interpolate", z=f"{first},{second}", ends="img2,42")
    assert not at.exception
    assert "your image 2 → #42" in texts(at.main.caption)
    assert at.multiselect(key="endpoints").options[:3] == ["your image 1", "your image 2", "#42"]
    assert "decode_latent(" in at.main.code[0].value  # the CLI takes seeds: Python reproduces the walk
    assert at.query_params["ends"] in ("img2,42", ["img2,42"])
    at = run_view("latent_map", z=first, points="60")
    assert not at.exception
    assert "★ your image 1" in texts(at.main.caption)
    at = run_view("latent_map", z=first, points="60", proj="t-SNE", map="1", perp="10", iter="250")
    assert not at.exception and "t-SNE places only the points it was fitted on" in texts(at.main.caption)


def test_unpinning_renumbers_the_endpoints_and_another_checkpoint_clears_your_images(
    tmp_path, monkeypatch, tiny_checkpoint
):
    checkpoints = isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    (checkpoints / "other.safetensors").write_bytes(tiny_checkpoint.read_bytes())
    at = run_view("your_image", z=f"{code(8)},{code(8, 1)},{code(8, 2)}", ends="img1,img3,5", ckpt="bundled/tiny")
    at.button(key="unpin_0").click().run()
    assert not at.exception
    assert len(at.session_state["projected"]) == 2 and at.session_state["endpoints"] == ["img2", 5]
    at.selectbox(key="_checkpoint_choice").set_value("bundled/other").run()
    assert not at.exception and at.session_state["checkpoint"] == "bundled/other"
    assert at.session_state["projected"] == [] and "z" not in at.query_params  # latents mean other images there
    assert at.session_state["endpoints"] == [5]  # "img2" would name the next model's second image


def test_edits_move_your_images_too(tiny_app):
    """On a model without a classifier the Arithmetic page's exemplar direction moves your images beside its faces."""
    at = run_view("arithmetic", z=code(8), mode="Directions", pos="1,2", neg="3,4", pins=[1, 2, 3, 4])
    assert not at.exception
    assert "**Your images, before**" in texts(at.main.markdown)
    assert "**Your images, after (strength +1.50)**" in texts(at.main.markdown)


def test_the_search_settings_survive_a_run_that_does_not_draw_them(tiny_app):
    """Streamlit forgets a widget's value after a run without the widget (presentation mode, another page); the page
    must find its defaults again, not a KeyError or a 1-step search."""
    at = run_view("your_image")
    face = np.full((32, 32, 3), 120, np.uint8)
    at.file_uploader(key="picture_upload_0").upload("me.png", png(face), "image/png").run()
    assert not at.exception and len(at.session_state["projected"]) == 1
    defaults = services.projection_defaults("bundled/tiny")
    assert (at.session_state["_search_restarts"], at.session_state["_search_steps"]) == defaults
    at.session_state["presentation"] = True
    at.run()
    at.run()  # the second run is the one without the widgets' values
    assert not at.exception
    at.session_state["presentation"] = False
    at.run()
    assert not at.exception
    assert (at.session_state["_search_restarts"], at.session_state["_search_steps"]) == defaults


def test_an_encoder_written_beside_an_open_checkpoint_is_used_without_a_restart(tmp_path, monkeypatch, tiny_checkpoint):
    from ganlib.encoder import Encoder, encoder_path, save_encoder

    checkpoints = isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    path = services.list_checkpoints()[0].id
    assert services.encoder_status(path) == (False, "")
    model = services.explorer(path)
    encoder = Encoder(model.image_size, model.generator.config.channels, model.latent_dim, width=4).eval()
    save_encoder(encoder_path(checkpoints / tiny_checkpoint.name), encoder, model.generator)
    assert services.encoder_status(path) == (True, "")  # `ganlib train-encoder` beside the running app


def test_a_model_whose_latents_no_link_can_hold_says_so(tmp_path, monkeypatch):
    import ganlib

    config = ganlib.ModelConfig(image_size=32, latent_dim=600, generator_width=4, discriminator_width=4)
    path = tmp_path / "wide.safetensors"
    ganlib.save_generator(path, ganlib.Generator(config).eval(), {"dataset": {"name": "random"}, "training": {}})
    isolate_app(tmp_path, monkeypatch, path)
    at = run_view("your_image")
    assert not at.exception
    assert "a link holds at most 512" in texts(at.main.info)


def test_components_move_your_images_too(tiny_app):
    at = run_view("arithmetic", z=f"{code(8)},{code(8, 1)}", mode="Components", cstrength="2")
    assert not at.exception
    assert len(at.main.get("image")) == 2  # the seed row, then your two images: before above after
    assert "**Your images** · top: before · bottom: after +2.0" in texts(at.main.markdown)


@needs_bundled
@pytest.mark.slow
@pytest.mark.parametrize("per_face", ["0", "1"])
def test_sunglasses_are_added_to_your_images(faces_app, per_face):
    at = run_view(
        "arithmetic", timeout=300, z=code(100, 3), mode="Directions", dir="sunglasses", method="svm", perface=per_face
    )
    assert not at.exception
    after = "after (per-face strength)" if per_face == "1" else "after (strength +1.50)"
    assert f"**Your images, {after}** · the classifier sees sunglasses on" in texts(at.main.markdown)
    namespace = {}
    exec(at.main.code[0].value, namespace)  # "Reproduce in Python" edits your image too, from its link code
    assert namespace["yours"].shape == (1, 100)
    assert namespace["your_images"].shape == ((1, 64, 64, 3) if per_face == "1" else (1, 2, 64, 64, 3))


@pytest.mark.skipif(
    importlib.util.find_spec("streamlit_drawable_canvas") is None, reason="needs streamlit-drawable-canvas"
)  # found, not imported: importing it outside a script run fails (it registers its component with the runtime)
def test_the_drawing_canvas_waits_for_a_drawing(tiny_app):
    at = run_view("your_image", session_state={"_picture_source": "Draw"})
    assert not at.exception
    assert at.button(key="project_drawing").disabled  # nothing drawn yet (the browser suite draws)
