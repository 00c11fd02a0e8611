"""A corpus of hostile checkpoint files: each is refused with one line naming the file, quickly, and without
building what the file claims; a file that passes never crashes the model card or ``ganlib info``."""

from __future__ import annotations

import json
import struct
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from ganlib.checkpoint import CheckpointError, load_discriminator, load_generator, read_metadata
from ganlib.checkpoint_schema import MAX_METADATA_BYTES
from ganlib.cli import format_model_card, main

HUGE_MODEL = {
    "image_size": 128,
    "channels": 3,
    "latent_dim": 4096,
    "generator_width": 1024,
    "discriminator_width": 1024,
}


def _write(path, tensors: dict, metadata) -> object:
    save_file(tensors, str(path), metadata={"ganlib": metadata if isinstance(metadata, str) else json.dumps(metadata)})
    return path


def _raw_safetensors(path, header: bytes, data: bytes = b"") -> object:
    """A file with a hand-made header, for what safetensors' own writer would refuse to produce."""
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


def _refused(path, pattern: str) -> str:
    with pytest.raises(CheckpointError, match=pattern) as info:
        load_generator(path)
    message = str(info.value)
    assert "\n" not in message and path.name in message
    return message


def _valid_metadata(tiny_checkpoint) -> dict:
    return read_metadata(tiny_checkpoint)


def _tiny_tensors(tiny_checkpoint) -> dict:
    from safetensors.torch import load_file

    return load_file(str(tiny_checkpoint))


# ---------------------------------------------------------------------------------------------- headers
def test_a_small_file_claiming_the_largest_architecture_is_refused_from_its_header(tmp_path, tiny_checkpoint):
    """The issue's 108 KB upload made the server build a 9.5 GB Generator before comparing shapes."""
    metadata = {**_valid_metadata(tiny_checkpoint), "model": HUGE_MODEL}
    path = _write(tmp_path / "huge.safetensors", _tiny_tensors(tiny_checkpoint), metadata)
    started = time.perf_counter()
    _refused(path, "has shape|do not match the architecture")
    assert time.perf_counter() - started < 5  # 2 s on a quiet machine; the margin is for a loaded CI runner


def test_a_header_that_lies_about_its_data_is_refused(tmp_path):
    header = json.dumps(
        {
            "__metadata__": {"ganlib": json.dumps({"format": "ganlib-generator", "format_version": 1})},
            "generator.x": {"dtype": "F32", "shape": [1 << 20], "data_offsets": [0, 4 << 20]},
        }
    ).encode()
    _refused(_raw_safetensors(tmp_path / "liar.safetensors", header, b"\0" * 64), "not a safetensors file")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\0" * 8,
        b"\xff" * 8 + b"{}",
        struct.pack("<Q", 1 << 40) + b"{}",
        b"PK\x03\x04 a zip, as torch.save writes",
    ],
)
def test_bytes_that_are_not_safetensors(tmp_path, content):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(content)
    _refused(path, "not a safetensors file|no such file|tensors cannot be read")


def test_wrong_dtype_and_wrong_names_and_nan(tmp_path, tiny_checkpoint):
    metadata, tensors = _valid_metadata(tiny_checkpoint), _tiny_tensors(tiny_checkpoint)
    name = "generator.net.0.weight"
    as_int = {**tensors, name: tensors[name].to(torch.int8)}
    _refused(_write(tmp_path / "int8.safetensors", as_int, metadata), "dtype")
    renamed = {("generator.evil" if k == name else k): v for k, v in tensors.items()}
    _refused(_write(tmp_path / "renamed.safetensors", renamed, metadata), "do not match")
    nan = {**tensors, name: torch.full_like(tensors[name], float("nan"))}
    _refused(_write(tmp_path / "nan.safetensors", nan, metadata), "NaN")
    bad_discriminator = {**tensors, "discriminator.head.weight": torch.zeros(1, 2, 3, 4)}
    path = _write(tmp_path / "bad_d.safetensors", bad_discriminator, metadata)
    _refused(path, "discriminator tensor head.weight has shape")


# ---------------------------------------------------------------------------------------------- metadata
BAD_METADATA = {
    "created is a number": ({"created": 12345}, "metadata.created must be a string"),
    "training is a list": ({"training": [1]}, "metadata.training must be an object"),
    "model is a list": ({"model": [1, 2]}, "metadata.model must be an object"),
    "dataset is text": ({"dataset": "evil"}, "metadata.dataset must be an object"),
    "dataset name is a list": ({"dataset": {"name": ["a"]}}, "metadata.dataset.name must be a string"),
    "attributes is a list": ({"dataset": {"attributes": [1, 2]}}, "metadata.dataset.attributes must be an object"),
    "attribute classes are numbers": ({"dataset": {"attributes": {"a": [1]}}}, r"attributes.a\[0\] must be a string"),
    "summary is text": ({"evaluation": {"summary": "x"}}, "metadata.evaluation.summary must be an object"),
    "final stats are text": ({"training": {"final_stats": {"d_real": "high"}}}, "final_stats.d_real must be a number"),
    "steps is true": ({"training": {"steps": True}}, "metadata.training.steps must be an integer"),
    "format version is text": ({"format_version": "1"}, "format_version must be an integer"),
    "notes are huge": ({"notes": "x" * 10_000}, "characters long"),
    "too many entries": ({"extra": list(range(5000))}, "entries"),
}


@pytest.mark.parametrize("change, pattern", BAD_METADATA.values(), ids=BAD_METADATA.keys())
def test_metadata_of_the_wrong_type_is_one_line(tmp_path, tiny_checkpoint, change, pattern):
    metadata = {**_valid_metadata(tiny_checkpoint), **change}
    path = _write(tmp_path / "bad.safetensors", _tiny_tensors(tiny_checkpoint), metadata)
    _refused(path, pattern)
    with pytest.raises(CheckpointError):
        read_metadata(path)


def test_deeply_nested_and_oversized_metadata(tmp_path, tiny_checkpoint):
    tensors = _tiny_tensors(tiny_checkpoint)
    deep = '{"format": "ganlib-generator", "format_version": 1, "x": ' + "[" * 200_000 + "]" * 200_000 + "}"
    _refused(_write(tmp_path / "deep.safetensors", tensors, deep), "nested")
    big = json.dumps({**_valid_metadata(tiny_checkpoint), "notes": "x" * (MAX_METADATA_BYTES + 1)})
    started = time.perf_counter()
    _refused(_write(tmp_path / "big.safetensors", tensors, big), "MB, more than")
    assert time.perf_counter() - started < 5


def test_not_json_and_no_format(tmp_path, tiny_checkpoint):
    tensors = _tiny_tensors(tiny_checkpoint)
    _refused(_write(tmp_path / "text.safetensors", tensors, "{not json"), "not valid JSON")
    _refused(_write(tmp_path / "list.safetensors", tensors, "[1, 2]"), "must be a JSON object")
    _refused(_write(tmp_path / "bare.safetensors", tensors, "{}"), "no 'format' field")


def test_the_cli_says_one_line_for_each(tmp_path, tiny_checkpoint, capsys):
    metadata = {**_valid_metadata(tiny_checkpoint), "training": [1]}
    path = _write(tmp_path / "bad.safetensors", _tiny_tensors(tiny_checkpoint), metadata)
    for command in (["info", str(path)], ["sample", str(path), "--out", str(tmp_path / "g.png")]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: bad.safetensors:") and "\n" not in err


# ---------------------------------------------------------------------------------------------- fuzzing
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    [
        "model",
        "dataset",
        "training",
        "evaluation",
        "created",
        "notes",
        "sample_seed",
        "has_discriminator",
        "format_version",
        "dtype",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(FIELDS, JSON_VALUES, max_size=3), inner=JSON_VALUES)
def test_fuzzed_metadata_either_loads_and_renders_or_is_one_line(tmp_path, tiny_checkpoint, changes, inner):
    metadata = {**_valid_metadata(tiny_checkpoint), **changes}
    for key in ("dataset", "training", "evaluation"):  # also fuzz one level down, where the readers look
        if isinstance(metadata.get(key), dict) and metadata[key]:
            metadata[key] = {**metadata[key], next(iter(metadata[key])): inner}
    path = _write(tmp_path / "fuzz.safetensors", _tiny_tensors(tiny_checkpoint), metadata)
    try:
        generator = load_generator(path)
    except CheckpointError as error:
        assert "\n" not in str(error)
        return
    format_model_card(generator.metadata)  # a file that passes never crashes the model card
    load_discriminator(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.binary(max_size=200), length=st.integers(min_value=0, max_value=300))
def test_fuzzed_headers_are_refused_in_one_line(tmp_path, header, length):
    path = _raw_safetensors(tmp_path / "fuzz.safetensors", header, b"\0" * 16)
    path.write_bytes(struct.pack("<Q", length) + path.read_bytes()[8:])
    with pytest.raises(CheckpointError) as info:
        load_generator(path)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------- printable texts
UNPRINTABLE_METADATA = {
    "lone surrogate in the notes": ({"notes": "ok \ud800"}, r"metadata\.notes holds U\+D800, a lone surrogate"),
    "lone surrogate in the data set's name": ({"dataset": {"name": "\udcff"}}, r"metadata\.dataset\.name holds"),
    "lone surrogate in a key, deep down": ({"extra": {"a": [{"\ud83d": 1}]}}, r"a key in metadata\.extra\.a\[0\]"),
    "an escape sequence": ({"notes": "fine\x1b[2J\x1b[31mred"}, r"U\+001B, a control character"),
    "a carriage return": ({"created": "2020\rtomorrow"}, r"metadata\.created holds U\+000D"),
    "a C1 control (CSI)": ({"notes": "a\x9b31m"}, r"U\+009B"),
    "a NUL in an attribute class": ({"dataset": {"attributes": {"hair": ["a\x00b"]}}}, r"U\+0000"),
}


@pytest.mark.parametrize("change, pattern", UNPRINTABLE_METADATA.values(), ids=UNPRINTABLE_METADATA.keys())
def test_texts_that_are_not_printable_unicode_are_refused_at_load(tmp_path, tiny_checkpoint, change, pattern):
    """A lone surrogate passed the schema and broke every page for everyone who opened the upload's link (the model
    card raised UnicodeEncodeError); a control character rewrites the terminal that `ganlib info` prints to."""
    metadata = {**_valid_metadata(tiny_checkpoint), **change}
    path = _write(tmp_path / "text.safetensors", _tiny_tensors(tiny_checkpoint), metadata)
    message = _refused(path, pattern)
    message.encode("utf-8")  # the refusal itself is printable
    with pytest.raises(CheckpointError, match=pattern):
        read_metadata(path)


def test_line_breaks_tabs_and_any_script_are_printable(tmp_path, tiny_checkpoint):
    notes = "two lines\n\twith a tab, café, 日本語, emoji 👩‍💻 (a joiner inside)"
    metadata = {**_valid_metadata(tiny_checkpoint), "notes": notes}
    path = _write(tmp_path / "fine.safetensors", _tiny_tensors(tiny_checkpoint), metadata)
    assert load_generator(path).metadata["notes"] == notes


def test_a_key_that_is_not_one_printable_line_is_named_escaped(tmp_path, tiny_checkpoint):
    """Found by the fuzz test below: a key "\n" holding "\x1f" was named in the error as it is, which broke the
    one-line message."""
    metadata = {**_valid_metadata(tiny_checkpoint), "extra": {"\n": "\x1f"}}
    path = _write(tmp_path / "keys.safetensors", _tiny_tensors(tiny_checkpoint), metadata)
    with pytest.raises(CheckpointError) as info:
        read_metadata(path)
    assert "\n" not in str(info.value) and "metadata.extra['\\n'] holds U+001F" in str(info.value)
    str(info.value).encode("utf-8")


ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)  # surrogates and controls included


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["notes", "created", "dtype"]), text=ANY_TEXT, key=ANY_TEXT)
def test_fuzzed_texts_either_print_as_utf8_or_are_one_line(tmp_path, tiny_checkpoint, field, text, key):
    metadata = {**_valid_metadata(tiny_checkpoint), field: text, "extra": {key: text}}
    path = _write(tmp_path / "fuzz.safetensors", _tiny_tensors(tiny_checkpoint), metadata)
    try:
        loaded = read_metadata(path)
    except CheckpointError as error:
        assert "\n" not in str(error)
        str(error).encode("utf-8")
        return
    card = "\n".join(format_model_card(loaded))
    card.encode("utf-8")  # a lone surrogate raised here, on every page that showed the card
    assert not any(ord(c) < 32 and c not in "\n\t" for c in card)


# ---------------------------------------------------------------------------------------------- finite images
def test_a_negative_batchnorm_variance_is_refused_at_load(tmp_path, tiny_checkpoint):
    """Finite weights, NaN images: sqrt(-1 + eps) in every BatchNorm made Samples black and `project` exit 0 with
    NaN latents."""
    tensors = _tiny_tensors(tiny_checkpoint)
    for name in ("generator.net.1.running_var", "discriminator.features.3.running_var"):
        changed = {**tensors, name: -torch.ones_like(tensors[name])}
        path = _write(tmp_path / "negative.safetensors", changed, _valid_metadata(tiny_checkpoint))
        with pytest.raises(CheckpointError, match=f"{name.split('.', 1)[1]} holds a negative variance") as info:
            (load_generator if name.startswith("generator") else load_discriminator)(path)
        assert "negative.safetensors" in str(info.value)


def test_finite_weights_that_overflow_to_nan_images_are_refused_by_the_probe(tmp_path, tiny_checkpoint):
    from ganlib.explorer import Explorer

    tensors = _tiny_tensors(tiny_checkpoint)
    overflowing = torch.full_like(tensors["generator.net.0.weight"], 3e38)
    overflowing[:, 1::2] *= -1  # +inf in some channels, -inf in others: the next layer adds them up to NaN
    huge = {**tensors, "generator.net.0.weight": overflowing}
    path = _write(tmp_path / "overflow.safetensors", huge, _valid_metadata(tiny_checkpoint))
    _refused(path, "makes NaN or infinite pixels from finite weights")
    with pytest.raises(CheckpointError, match="overflow.safetensors: its generator makes NaN"):
        Explorer.from_checkpoint(path, cache=False)  # what the dashboard opens, and checks an upload with
