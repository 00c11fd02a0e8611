"""A latent vector as a short text for links: ``z1.`` + base64url of its float16 values, parsed strictly.

A sampled latent is named by its seed, but a projected one (ganlib.inversion) is a float vector with no seed, so
a link that shows it must carry the numbers themselves. float16 keeps a 100-d latent to 270 characters and moves
the image it generates far less than one grey level. Text from a link is hostile until parsed: ``decode_latent``
accepts exactly what ``encode_latent`` writes for a latent of the expected length (the prefix, the alphabet, the
length, canonical base64 and finite values within ``MAX_ABS``) and raises ``LatentCodeError`` for anything else.
"""

from __future__ import annotations

import base64
import binascii
import re

import numpy as np
import torch

PREFIX = "z1."  # format version 1; another version gets a new prefix, never a new reading of this one
MAX_DIM = 512  # the longest latent a link may hold: 1,369 characters
MAX_ABS = 64.0  # z ~ N(0, I) never comes near; a value beyond this is not a latent
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


class LatentCodeError(ValueError):
    """Text that is not a latent code for this model; the message is one line."""


def code_length(dim: int) -> int:
    """Characters in the code of a ``dim``-d latent: the prefix and unpadded base64 of 2 * dim bytes."""
    return len(PREFIX) + (8 * dim + 2) // 3


def encode_latent(z) -> str:
    """One latent [d] (or [1, d]) -> ``z1.<base64url>``; refuses non-finite values, values beyond MAX_ABS and d
    above MAX_DIM, which decode_latent would refuse too."""
    if isinstance(z, torch.Tensor):
        z = z.detach().float().cpu().numpy()
    values = np.asarray(z, dtype=np.float32).reshape(-1)
    if not 1 <= len(values) <= MAX_DIM:
        raise LatentCodeError(f"a latent code holds 1 to {MAX_DIM} values, got {len(values)}")
    if not np.isfinite(values).all() or np.abs(values).max() > MAX_ABS:
        raise LatentCodeError(f"a latent code holds finite values within ±{MAX_ABS:g}")
    raw = values.astype("<f2").tobytes()
    return PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_latent(text: str, dim: int) -> torch.Tensor:
    """The float32 latent [dim] that ``encode_latent`` wrote as ``text``; LatentCodeError for anything else."""
    if not 1 <= dim <= MAX_DIM:
        raise LatentCodeError(f"latent codes hold 1 to {MAX_DIM} values; this model's latents have {dim}")
    if not isinstance(text, str):
        raise LatentCodeError(f"a latent code is text, got {type(text).__name__}")
    expected = code_length(dim)
    if len(text) != expected:  # checked first: a long string is refused before any work
        raise LatentCodeError(f"a latent code for {dim} values is {expected} characters long, got {len(text)}")
    if not text.startswith(PREFIX):
        raise LatentCodeError(f"a latent code starts with {PREFIX!r}")
    body = text[len(PREFIX) :]
    if not _ALPHABET.fullmatch(body):
        raise LatentCodeError("a latent code holds only letters, digits, '-' and '_' after its prefix")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise LatentCodeError("the latent code is not valid base64") from None
    if len(raw) != 2 * dim or base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != body:
        raise LatentCodeError("the latent code is not in canonical form")  # e.g. stray bits in the last character
    values = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    if not np.isfinite(values).all() or np.abs(values).max() > MAX_ABS:
        raise LatentCodeError(f"the latent code holds a value that is not finite or beyond ±{MAX_ABS:g}")
    return torch.from_numpy(values.copy())
