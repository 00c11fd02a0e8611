"""ToonFaces: a procedural cartoon-face data set, drawn with numpy + PIL.

Why it exists
-------------
It is the default training set of the DCGAN in ``ganlib``: it needs no
download, renders 30k faces in seconds, and every face carries exact
attribute labels.  Those labels are what make latent arithmetic measurable:
average the latent codes of faces "with sunglasses" and "without", add the
difference to a new code, and check (with a classifier or by eye) that the
generated face now wears sunglasses.

What a face looks like
----------------------
A head (skin tone) with hair around its top and sides, eyes (white +
pupil) or opaque dark sunglasses, a nose, a thick mouth (an upward arc when
smiling, a straight line when not), optionally a large hat, shoulders, and a
random flat background colour.  Position, size, pose (head rotation and a
small sideways turn of the features), colours and hair style are jittered.

Every attribute is sampled independently of the others, so a direction in
latent space learned for one attribute is not confounded with another.

Face ``i`` depends only on ``(seed, i)``, so ``render_toonfaces(100)`` equals
the first 100 faces of ``render_toonfaces(30000)``.

The geometry is written in the coordinates of a 64 x 64 image (the native
size) and drawn 2x supersampled; 32 px is a LANCZOS reduction of the 64-px
face and 128 px is drawn directly at its own resolution, so the three sizes
show the same faces.
"""

from __future__ import annotations

import colorsys
import os
import tempfile
import warnings
from numbers import Integral

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["ATTRIBUTES", "HELD_OUT_SEED", "render_toonfaces", "load_toonfaces"]

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "sunglasses": ("no", "yes"),
    "smiling": ("no", "yes"),
    "hat": ("no", "yes"),
    "hair": ("black", "brown", "blond", "red"),
    "skin": ("light", "medium", "dark"),
}

# Faces no bundled network saw: the GANs trained on seed-0 renders, the classifier on seeds 1 and 2. Projection
# is measured on them (benchmarks/bench_inversion.py) and the dashboard offers them as "your image".
HELD_OUT_SEED = 1000

# Probability of the "yes" class of the binary attributes; the multi-class
# attributes are uniform.
_P_YES = {"sunglasses": 0.30, "smiling": 0.50, "hat": 0.28}

# Bump when the drawing changes, so stale caches are not reused.
_RENDER_VERSION = 1

_SIZES = (32, 64, 128)
_NATIVE = 64
_MARGIN = 8  # extra canvas (in 64-px units) so rotation never exposes an edge

# Palettes are chosen so every hair colour stands out against every skin
# tone (brown hair is a light chestnut, dark skin is deeper than it).
_SKIN = np.array([(250, 214, 180), (218, 164, 116), (92, 55, 36)], dtype=np.float64)
_HAIR = np.array(
    [(28, 26, 30), (140, 80, 32), (240, 204, 90), (206, 70, 28)],
    dtype=np.float64,
)
# Hat colours avoid skin and hair hues so a hat never reads as hair.
_HAT = np.array(
    [(40, 70, 170), (30, 125, 70), (115, 50, 150), (60, 60, 72), (20, 130, 145), (225, 225, 230)],
    dtype=np.float64,
)


def _check_args(n, seed, image_size):
    if isinstance(n, bool) or not isinstance(n, Integral):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if isinstance(image_size, bool) or image_size not in _SIZES:
        raise ValueError(f"image_size must be one of {_SIZES}, got {image_size!r}")


def _rgb(c) -> tuple[int, int, int]:
    c = np.clip(np.asarray(c, dtype=np.float64), 0, 255)
    return (int(c[0]), int(c[1]), int(c[2]))


def _shade(c, f) -> tuple[int, int, int]:
    return _rgb(np.asarray(c, dtype=np.float64) * f)


def _sample(rng: np.random.Generator) -> dict:
    """All random choices of one face. Attributes come first, each from its
    own uniform draw, so they are mutually independent."""
    # 40 draws, of which 28 are used: spares let new jitter be added later
    # without changing the faces (or labels) of existing seeds.
    u = rng.random(40)
    p = {
        "sunglasses": int(u[0] < _P_YES["sunglasses"]),
        "smiling": int(u[1] < _P_YES["smiling"]),
        "hat": int(u[2] < _P_YES["hat"]),
        "hair": min(int(u[3] * 4), 3),
        "skin": min(int(u[4] * 3), 2),
    }
    # Background: any hue, moderate saturation/value so faces stand out.
    bg = colorsys.hsv_to_rgb(u[5], 0.25 + 0.4 * u[6], 0.55 + 0.4 * u[7])
    p["bg"] = _rgb(np.array(bg) * 255)
    # Geometry jitter (64-px units).
    k = 0.92 + 0.14 * u[8]  # head scale
    p["k"] = k
    p["cx"] = 32.0 + 6.0 * (u[9] - 0.5)
    p["cy"] = 36.0 + 4.0 * (u[10] - 0.5)
    p["angle"] = 16.0 * (u[11] - 0.5)  # head tilt, degrees
    p["yaw"] = 4.0 * (u[12] - 0.5)  # sideways shift of the features
    # Colours: small per-face jitter that keeps the classes apart.
    p["skin_rgb"] = _rgb(_SKIN[p["skin"]] * (0.95 + 0.1 * u[13]))
    p["hair_rgb"] = _rgb(_HAIR[p["hair"]] * (0.92 + 0.16 * u[14]))
    p["hair_style"] = min(int(u[15] * 3), 2)
    p["bangs"] = (u[16] - 0.5, u[17] - 0.5)
    p["gaze"] = (1.2 * (u[18] - 0.5), 0.6 * (u[19] - 0.5))
    p["hat_rgb"] = _rgb(_HAT[min(int(u[20] * len(_HAT)), len(_HAT) - 1)])
    p["hat_style"] = int(u[21] < 0.5)
    p["hat_h"] = 0.85 + 0.3 * u[22]
    shirt = colorsys.hsv_to_rgb(u[23], 0.35 + 0.45 * u[24], 0.35 + 0.55 * u[25])
    p["shirt_rgb"] = _rgb(np.array(shirt) * 255)
    p["lens_rgb"] = _rgb(np.array(colorsys.hsv_to_rgb(u[26], 0.5, 0.07)) * 255)
    p["smile_w"] = 0.9 + 0.25 * u[27]
    return p


def _draw_face(p: dict, s: float) -> Image.Image:
    """Draw one face on a (64 + 2*margin) * s canvas and return it rotated.

    ``s`` is pixels per 64-px unit.  All coordinates below are in 64-px
    units; ``P`` maps them to canvas pixels and ``W`` turns a stroke width
    into whole canvas pixels.
    """
    m = _MARGIN
    size = int(round((_NATIVE + 2 * m) * s))
    im = Image.new("RGB", (size, size), p["bg"])
    d = ImageDraw.Draw(im)

    def P(*xy):
        return [(v + m) * s for v in xy]

    def W(w):
        return max(1, int(round(w * s)))

    k, cx, cy = p["k"], p["cx"], p["cy"]
    rx, ry = 16.5 * k, 19.5 * k
    fx = cx + p["yaw"]  # features shift sideways: a cheap head turn
    skin, hair = p["skin_rgb"], p["hair_rgb"]
    skin_line = _shade(skin, 0.55)
    hair_line = _shade(hair, 0.6)
    ol = W(1.0)  # cartoon outline; it keeps shapes readable at 32 px

    # Shoulders and neck, extended below the frame so rotation hides no gap.
    d.ellipse(
        P(cx - 23, cy + ry - 1, cx + 23, cy + ry + 40),
        fill=p["shirt_rgb"],
        outline=_shade(p["shirt_rgb"], 0.55),
        width=ol,
    )
    d.rectangle(P(cx - 5 * k, cy + ry - 8, cx + 5 * k, cy + ry + 2.5), fill=_shade(skin, 0.85))

    # Hair behind the head: visible around the top and the sides.
    top = cy - ry - 4.0 * k
    if p["hair_style"] == 0:  # short: hugs the head down to the ears
        d.ellipse(P(cx - rx - 2.5 * k, top, cx + rx + 2.5 * k, cy + 0.45 * ry), fill=hair, outline=hair_line, width=ol)
    elif p["hair_style"] == 1:  # long: falls to the jaw on both sides
        d.rounded_rectangle(
            P(cx - rx - 3.5 * k, cy - 0.4 * ry, cx + rx + 3.5 * k, cy + 0.85 * ry),
            radius=5 * k * s,
            fill=hair,
            outline=hair_line,
            width=ol,
        )
        d.ellipse(P(cx - rx - 3.5 * k, top, cx + rx + 3.5 * k, cy + 0.5 * ry), fill=hair, outline=hair_line, width=ol)
        # Repaint the seam the two outlines leave inside the hair.
        d.rectangle(P(cx - rx - 3.5 * k + 1, cy - 0.3 * ry, cx + rx + 3.5 * k - 1, cy + 0.45 * ry), fill=hair)
    else:  # bob: a big round volume
        d.ellipse(
            P(cx - rx - 4.5 * k, top - 1, cx + rx + 4.5 * k, cy + 0.7 * ry), fill=hair, outline=hair_line, width=ol
        )

    # Ears, then the head.
    for sx in (-1, 1):
        ex = cx + sx * (rx - 0.5)
        d.ellipse(P(ex - 3 * k, cy - 2 * k, ex + 3 * k, cy + 5 * k), fill=skin, outline=skin_line, width=ol)
    d.ellipse(P(cx - rx, cy - ry, cx + rx, cy + ry), fill=skin, outline=skin_line, width=ol)

    # Fringe over the forehead; tilted chord angles give side-swept bangs.
    b0, b1 = p["bangs"]
    d.chord(P(cx - rx, cy - ry, cx + rx, cy + ry), 205 + 20 * b0, 335 + 20 * b1, fill=hair)

    ey = cy - 1.5 * k
    eo = 7.0 * k  # eye offset from the feature centre line

    # Eyebrows in the hair colour (black for blond so they stay visible).
    brow = hair if p["hair"] != 2 else _shade(hair, 0.55)
    for sx in (-1, 1):
        bx = fx + sx * eo
        d.line(
            P(bx - 3 * k, ey - 7.0 * k + 0.6 * sx * b0, bx + 3 * k, ey - 7.0 * k - 0.6 * sx * b0),
            fill=brow,
            width=W(1.6),
        )

    if p["sunglasses"]:
        # Opaque near-black lenses, wider than the eyes, a thick bridge and
        # arms.  A grey frame rims them so they also stand out on dark skin.
        lens, frame = p["lens_rgb"], (120, 120, 132)
        for sx in (-1, 1):
            lx = fx + sx * eo
            d.rounded_rectangle(
                P(lx - 6.0 * k, ey - 5.0 * k, lx + 6.0 * k, ey + 5.0 * k),
                radius=2.8 * k * s,
                fill=lens,
                outline=frame,
                width=W(1.2),
            )
            # A glint makes them read as glass, not as holes.
            d.line(P(lx - 3.8 * k, ey - 1.0 * k, lx - 1.6 * k, ey - 3.2 * k), fill=(150, 160, 180), width=W(0.9))
            d.line(P(lx + sx * 5.6 * k, ey - 1.8 * k, cx + sx * (rx - 0.2), ey - 2.4 * k), fill=frame, width=W(1.3))
        d.line(P(fx - eo + 5.6 * k, ey - 1.8 * k, fx + eo - 5.6 * k, ey - 1.8 * k), fill=frame, width=W(1.8))
    else:
        gx, gy = p["gaze"]
        for sx in (-1, 1):
            ex = fx + sx * eo
            d.ellipse(
                P(ex - 4.4 * k, ey - 4.6 * k, ex + 4.4 * k, ey + 4.6 * k),
                fill=(255, 255, 255),
                outline=(40, 30, 30),
                width=W(0.6),
            )
            px, py = ex + gx, ey + gy + 0.2
            d.ellipse(P(px - 2.0 * k, py - 2.0 * k, px + 2.0 * k, py + 2.0 * k), fill=(25, 20, 30))
            d.ellipse(P(px - 1.3 * k, py - 1.5 * k, px - 0.5 * k, py - 0.7 * k), fill=(255, 255, 255))

    # Nose: a small darker bump.
    d.ellipse(P(fx - 1.6 * k, cy + 2.6 * k, fx + 1.6 * k, cy + 4.8 * k), fill=_shade(skin, 0.78))

    # Mouth: a 3.5-px stroke, so a smile survives the 32-px reduction.
    mouth = (125, 25, 40) if p["skin"] != 2 else (45, 8, 16)
    my = cy + 9.5 * k
    mw = 7.5 * k * p["smile_w"]
    stroke = 3.5
    if p["smiling"]:
        # Lower half of an ellipse: the corners curve up well above the middle.
        d.arc(P(fx - mw, my - 8.0 * k, fx + mw, my + 4.0 * k), 5, 175, fill=mouth, width=W(stroke))
    else:
        # A straight line at the height of the smile's corners, so the two
        # mouths overlap as little as possible.
        hw = 0.75 * mw
        stroke = 3.0  # a bit thinner, so it reads as closed lips
        yl = my - 0.8 * k
        d.line(P(fx - hw, yl, fx + hw, yl), fill=mouth, width=W(stroke))
        r = stroke / 2
        for x in (fx - hw, fx + hw):  # round caps
            d.ellipse(P(x - r, yl - r, x + r, yl + r), fill=mouth)

    if p["hat"]:
        hat = p["hat_rgb"]
        hat_line = _shade(hat, 0.45)
        band = (20, 20, 24) if sum(hat) > 360 else (235, 225, 200)
        yb = cy - 0.62 * ry  # brim line, across the top of the forehead
        if p["hat_style"] == 0:
            # Tall crown + wide brim; the crown top is clamped inside the frame.
            ytop = max(yb - 18.0 * k * p["hat_h"], 3.0)
            wc = 0.85 * rx
            d.rounded_rectangle(P(cx - wc, ytop, cx + wc, yb), radius=3.5 * k * s, fill=hat, outline=hat_line, width=ol)
            d.rectangle(P(cx - wc + 0.5, yb - 4.0 * k, cx + wc - 0.5, yb - 1.0), fill=band)
            d.ellipse(
                P(cx - rx - 7.5 * k, yb - 3.2 * k, cx + rx + 7.5 * k, yb + 3.2 * k),
                fill=hat,
                outline=hat_line,
                width=ol,
            )
        else:
            # Beanie: a dome over the whole head top with a thick rolled rim.
            # (clamped lower than the tall hat: the pompom sits above it)
            ytop = max(cy - ry - 10.0 * k * p["hat_h"], 8.0)
            d.chord(
                P(cx - rx - 2.5 * k, ytop, cx + rx + 2.5 * k, 2 * yb - ytop + 4 * k),
                180,
                360,
                fill=hat,
                outline=hat_line,
                width=ol,
            )
            d.ellipse(
                P(cx - 3.2 * k, ytop - 4.5 * k, cx + 3.2 * k, ytop + 1.5 * k), fill=band, outline=hat_line, width=ol
            )
            d.rounded_rectangle(
                P(cx - rx - 3.5 * k, yb - 1.0 * k, cx + rx + 3.5 * k, yb + 4.5 * k),
                radius=2.5 * k * s,
                fill=band,
                outline=hat_line,
                width=ol,
            )

    # Tilt the whole head around its centre; the margin absorbs the corners.
    # NEAREST is far cheaper than BICUBIC, and since ImageDraw shapes are
    # aliased anyway, the 2x2 reduction afterwards does the smoothing.
    im = im.rotate(p["angle"], resample=Image.NEAREST, center=((cx + m) * s, (cy + m) * s), fillcolor=p["bg"])
    lo = int(round(m * s))
    hi = int(round((m + _NATIVE) * s))
    return im.crop((lo, lo, hi, hi))


def render_toonfaces(n: int, seed: int = 0, image_size: int = 64) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render ``n`` cartoon faces.

    Returns a ``uint8`` array ``[n, image_size, image_size, 3]`` and a dict
    ``{attribute: int64 array [n]}`` whose values index ``ATTRIBUTES[attribute]``.
    Face ``i`` depends only on ``(seed, i)``.
    """
    _check_args(n, seed, image_size)
    n, seed = int(n), int(seed)
    # Canvas pixels per 64-px unit: 2x supersampling of the drawn size.
    # 128 px is drawn at its own resolution (sharper than upsampling); 32 px
    # is the 64-px face shrunk with LANCZOS, which keeps the eyes and mouth
    # crisper than a plain box filter.
    s = 4.0 if image_size == 128 else 2.0
    images = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    labels = {a: np.empty(n, dtype=np.int64) for a in ATTRIBUTES}
    for i in range(n):
        p = _sample(np.random.default_rng([seed, i]))
        for a in ATTRIBUTES:
            labels[a][i] = p[a]
        im = _draw_face(p, s).reduce(2)  # 2x2 box filter = cheap antialiasing
        if image_size == 32:
            im = im.resize((32, 32), Image.LANCZOS)
        images[i] = np.asarray(im)
    return images, labels


def _cache_path(cache_dir: str | None, n: int, seed: int, image_size: int) -> str:
    if cache_dir is None:
        cache_dir = os.environ.get("GANLIB_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ganlib")
    name = f"toonfaces_v{_RENDER_VERSION}_n{n}_seed{seed}_{image_size}px.npz"
    return os.path.join(cache_dir, name)


def _read_cache(path: str, n: int, image_size: int):
    """Return the cached data, or None if it is missing, corrupt or stale."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            images = z["images"]
            labels = {a: z[f"label_{a}"].astype(np.int64) for a in ATTRIBUTES}
    except Exception:  # truncated zip, bad CRC, missing key, ...
        return None
    if images.dtype != np.uint8 or images.shape != (n, image_size, image_size, 3):
        return None
    for a, classes in ATTRIBUTES.items():
        v = labels[a]
        if v.shape != (n,) or v.min() < 0 or v.max() >= len(classes):
            return None
    return images, labels


def load_toonfaces(
    n: int = 30000,
    seed: int = 0,
    image_size: int = 64,
    cache_dir: str | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Like :func:`render_toonfaces`, but cached on disk as ``.npz``.

    The cache lives in ``cache_dir``, else ``$GANLIB_CACHE``, else
    ``~/.cache/ganlib``.  It is written atomically (temp file +
    ``os.replace``) so a killed run never leaves a half file behind; a
    corrupt or unreadable cache file is re-rendered and overwritten.
    """
    _check_args(n, seed, image_size)
    n, seed = int(n), int(seed)
    path = _cache_path(cache_dir, n, seed, image_size)
    cached = _read_cache(path, n, image_size)
    if cached is not None:
        return cached

    images, labels = render_toonfaces(n, seed=seed, image_size=image_size)
    tmp = None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".toonfaces-", suffix=".tmp", dir=os.path.dirname(path))
        with os.fdopen(fd, "wb") as f:
            # Flat-colour cartoons compress very well (~10x).
            np.savez_compressed(f, images=images, **{f"label_{a}": v for a, v in labels.items()})
        os.replace(tmp, path)
        tmp = None
    except OSError as e:  # read-only or full disk: still return the data
        warnings.warn(f"could not write toonfaces cache {path}: {e}", stacklevel=2)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
    return images, labels
