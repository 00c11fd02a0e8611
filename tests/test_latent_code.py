"""Latent codes for links (ganlib.latent_code): a round trip keeps the picture, and nothing else parses."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch

import ganlib
from ganlib.latent_code import MAX_ABS, MAX_DIM, LatentCodeError, code_length, decode_latent, encode_latent


def test_a_round_trip_keeps_the_latent_to_float16_precision():
    z = ganlib.sample_latents(1, 100, seed=3)[0]
    text = encode_latent(z)
    assert text.startswith("z1.") and len(text) == code_length(100) == 270
    back = decode_latent(text, 100)
    assert back.dtype == torch.float32 and back.shape == (100,)
    assert torch.allclose(back, z, rtol=1e-3, atol=1e-3)
    assert encode_latent(back) == text  # the code of a decoded latent is the same text


def test_a_decoded_latent_draws_the_same_picture(tiny_config):
    generator = ganlib.Generator(tiny_config).eval()
    z = ganlib.sample_latents(4, 8, seed=0)
    decoded = torch.stack([decode_latent(encode_latent(row), 8) for row in z])
    before, after = ganlib.generate(generator, z), ganlib.generate(generator, decoded)
    assert np.abs(before.astype(int) - after.astype(int)).max() <= 1


def test_numpy_and_batched_latents_encode_alike():
    z = ganlib.sample_latents(1, 8, seed=1)
    assert encode_latent(z) == encode_latent(z[0]) == encode_latent(z[0].numpy())


def _body(values) -> str:
    return base64.urlsafe_b64encode(np.asarray(values, "<f2").tobytes()).decode().rstrip("=")


GOOD = encode_latent(torch.zeros(8))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "z1.",
        GOOD[:-1],  # too short
        GOOD + "A",  # too long
        "z2." + GOOD[3:],  # another version
        "Z1." + GOOD[3:],
        GOOD[:-2] + "+/",  # standard base64, not url-safe
        GOOD[:-2] + "==",  # padding
        GOOD[:-1] + " ",
        GOOD[:-1] + "é",
        GOOD[:-1] + "B",  # stray bits in the last character: not canonical
        "z1." + _body([np.nan] + [0] * 7),
        "z1." + _body([np.inf] + [0] * 7),
        "z1." + _body([MAX_ABS * 2] + [0] * 7),
        "z1." + "A" * 100_000,  # long: refused on length before decoding
    ],
)
def test_hostile_text_is_refused_with_one_line(text):
    with pytest.raises(LatentCodeError) as error:
        decode_latent(text, 8)
    assert "\n" not in str(error.value)


def test_a_code_for_another_latent_size_is_refused():
    with pytest.raises(LatentCodeError, match="100 values"):
        decode_latent(GOOD, 100)


@pytest.mark.parametrize("bad", [None, 12, b"z1.AAAA", ["z1."]])
def test_non_text_is_refused(bad):
    with pytest.raises(LatentCodeError):
        decode_latent(bad, 8)


@pytest.mark.parametrize(
    "z", [torch.full((8,), float("nan")), torch.full((8,), MAX_ABS + 1), torch.zeros(MAX_DIM + 1), torch.zeros(0)]
)
def test_latents_that_would_not_decode_are_not_encoded(z):
    with pytest.raises(LatentCodeError):
        encode_latent(z)
