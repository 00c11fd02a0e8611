"""Your images (latents found by projection on the "Your image" page) as the other pages use them: their names,
the latents that endpoints stand for, and their rows under an edit on the Arithmetic page.

A pinned image is a latent code in state["projected"] (the link's ``z``); in a list of endpoints it is the token
"img1", "img2", ... by its place there, so a link stays short and readable.
"""

from __future__ import annotations

import streamlit as st

from dashboard import services, state


def codes(path: str) -> tuple[str, ...]:
    """The pinned latent codes that are latents of the open model (the sidebar drops the others and says so; this
    also guards a page run on its own)."""
    pinned = tuple(st.session_state.get("projected", []))
    if not pinned:
        return ()
    problems = services.latent_code_problems(path, pinned)
    return tuple(code for code, problem in zip(pinned, problems) if not problem)


def label(item) -> str:
    """ "#42" for a seed, "your image 2" for "img2"."""
    index = state.projected_index(item)
    return f"#{item}" if index is None else f"your image {index + 1}"


def usable(item, pinned: tuple[str, ...]) -> bool:
    """A seed a generator accepts, or a token of an image that is still pinned."""
    index = state.projected_index(item)
    if index is None:
        return isinstance(item, int) and 0 <= item <= state.MAX_SEED
    return 0 <= index < len(pinned)


def points(items, pinned: tuple[str, ...]) -> tuple[int | str, ...]:
    """Endpoints as services takes them: seeds stay seeds, tokens become their latent codes."""
    return tuple(item if state.projected_index(item) is None else pinned[state.projected_index(item)] for item in items)


def tokens(pinned: tuple[str, ...]) -> list[str]:
    return [state.projected_token(index) for index in range(len(pinned))]


def edit_rows(path: str, attribute: str, method: str, conditional: bool, strength: float, per_face: bool, scale: int):
    """Your images before and after an attribute edit, under the sample faces' rows (nothing when none is pinned)."""
    pinned = codes(path)
    if not pinned:
        return
    if per_face:
        images, _, probabilities = services.per_face_edit(path, attribute, method, conditional, pinned, strength >= 0)
        after = "after (per-face strength)"
    else:
        images = services.attribute_edit(path, attribute, method, conditional, pinned, (0.0, strength))
        probabilities = services.edit_probabilities(path, attribute, method, conditional, pinned, (0.0, strength))
        after = f"after (strength {strength:+.2f})"
    seen = (probabilities > 0.5).sum(axis=0)
    _rows(images, scale, after, tuple(f"the classifier sees {attribute} on {n} of {len(pinned)}" for n in seen))


def edit_snippet(path: str, per_face: bool, strength: float, max_strength: float) -> str:
    """The "Reproduce in Python" lines that edit your images as edit_rows shows them (after the lines that define
    ``explorer`` and ``direction``); empty when none is pinned. The latents travel as their link codes."""
    pinned = codes(path)
    if not pinned:
        return ""
    latents = ", ".join(f"decode_latent({code!r}, explorer.latent_dim)" for code in pinned)
    lines = f"\nimport torch\nfrom ganlib.latent_code import decode_latent\nyours = torch.stack([{latents}])\n"
    if per_face:
        return lines + (
            f"your_strengths, your_edited = per_face_strength(explorer, yours, direction, max_strength={max_strength:g})\n"
            "your_images = explorer.images(your_edited)  # uint8 [your images, H, W, 3]"
        )
    return lines + (
        f"your_images = explorer.edit_latent_vectors(yours, direction, [0.0, {strength}])  "
        "# uint8 [your images, 2, H, W, 3]"
    )


def exemplar_rows(path: str, positive: tuple[int, ...], negative: tuple[int, ...], strength: float, scale: int):
    """Your images moved along a direction built from pinned exemplars (models without a classifier)."""
    pinned = codes(path)
    if pinned:
        images = services.exemplar_edit(path, positive, negative, pinned, (0.0, strength))
        _rows(images, scale, f"after (strength {strength:+.2f})", ("", ""))


def _rows(images, scale: int, after: str, notes: tuple[str, str]) -> None:
    width = len(images) * images.shape[3] * scale  # tiles as large as the sample rows' tiles, not the page's width
    for key, title, row, note in (("yours_before", "before", 0, notes[0]), ("yours_after", after, 1, notes[1])):
        with st.container(key=f"edit_{key}"):
            st.markdown(f"**Your images, {title}**" + (f" · {note}" if note else ""))
            st.image(services.grid_png(images[:, row], len(images), scale), width=width)
