import json

import pytest
import torch
from safetensors.torch import save_file

import ganlib
from ganlib.checkpoint import CheckpointError, load_discriminator, load_generator, read_metadata, save_generator


def test_round_trip_gives_bit_identical_outputs(tiny_checkpoint, tiny_config):
    torch.manual_seed(0)
    original = ganlib.Generator(tiny_config).eval()  # the same weights the fixture saved
    loaded = load_generator(tiny_checkpoint)
    z = ganlib.sample_latents(4, tiny_config.latent_dim, seed=3)
    with torch.no_grad():
        assert torch.equal(original(z), loaded(z))
    assert loaded.config == tiny_config and not loaded.training
    assert load_discriminator(tiny_checkpoint) is not None


def test_metadata_describes_the_file(tiny_checkpoint):
    metadata = read_metadata(tiny_checkpoint)
    assert metadata["format"] == "ganlib-generator" and metadata["format_version"] == 1
    assert metadata["model"]["latent_dim"] == 8 and metadata["dataset"]["name"] == "random"
    assert metadata["ganlib_version"] == ganlib.__version__ and metadata["created"]


def test_half_precision_file_is_smaller_and_close(tmp_path, tiny_config):
    generator = ganlib.Generator(tiny_config).eval()
    full = save_generator(tmp_path / "full.safetensors", generator, {})
    half = save_generator(tmp_path / "half.safetensors", generator, {}, half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    z = torch.randn(2, tiny_config.latent_dim)
    with torch.no_grad():
        assert torch.allclose(load_generator(half)(z), generator(z), atol=1e-2)


def _expect_error(path, pattern):
    with pytest.raises(CheckpointError, match=pattern) as info:
        load_generator(path)
    message = str(info.value)
    assert "\n" not in message and path.name in message  # one line that names the file
    return message


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.safetensors", "no such file")


def test_not_a_safetensors_file(tmp_path):
    path = tmp_path / "photo.safetensors"
    path.write_bytes(b"\x89PNG not really a checkpoint" * 10)
    _expect_error(path, "not a safetensors file")


def test_truncated_file(tiny_checkpoint, tmp_path):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(tiny_checkpoint.read_bytes()[:-100])
    _expect_error(path, "safetensors|tensors cannot be read")


def test_safetensors_without_ganlib_metadata(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(2)}, str(path))
    _expect_error(path, "not a ganlib checkpoint")


def _rewrite(tiny_checkpoint, tmp_path, change_metadata=None, change_tensors=None):
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(tiny_checkpoint), "pt") as handle:
        metadata = json.loads(handle.metadata()["ganlib"])
    tensors = load_file(str(tiny_checkpoint))
    if change_metadata:
        change_metadata(metadata)
    if change_tensors:
        change_tensors(tensors)
    path = tmp_path / "edited.safetensors"
    save_file(tensors, str(path), metadata={"ganlib": json.dumps(metadata)})
    return path


def test_wrong_shape_against_config(tiny_checkpoint, tmp_path):
    path = _rewrite(tiny_checkpoint, tmp_path, change_metadata=lambda m: m["model"].update(latent_dim=9))
    _expect_error(path, "shape")


def test_invalid_architecture(tiny_checkpoint, tmp_path):
    path = _rewrite(tiny_checkpoint, tmp_path, change_metadata=lambda m: m["model"].update(image_size=48))
    _expect_error(path, "invalid architecture")


def test_newer_format_version(tiny_checkpoint, tmp_path):
    path = _rewrite(tiny_checkpoint, tmp_path, change_metadata=lambda m: m.update(format_version=99))
    _expect_error(path, "format version")


def test_nan_weights(tiny_checkpoint, tmp_path):
    def poison(tensors):
        name = next(k for k in tensors if k.startswith("generator.") and tensors[k].is_floating_point())
        tensors[name] = torch.full_like(tensors[name], float("nan"))

    _expect_error(_rewrite(tiny_checkpoint, tmp_path, change_tensors=poison), "NaN")


def test_wrong_dtype(tiny_checkpoint, tmp_path):
    def to_int(tensors):
        name = next(k for k in tensors if k.endswith("net.0.weight"))
        tensors[name] = tensors[name].to(torch.int32)

    _expect_error(_rewrite(tiny_checkpoint, tmp_path, change_tensors=to_int), "dtype")


def test_missing_tensor(tiny_checkpoint, tmp_path):
    _expect_error(
        _rewrite(tiny_checkpoint, tmp_path, change_tensors=lambda t: t.pop("generator.net.0.weight")), "do not match"
    )


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


def test_explorer_scores_images_with_the_stored_discriminator(tiny_checkpoint):
    from ganlib.explorer import Explorer

    explorer = Explorer.from_checkpoint(tiny_checkpoint)
    z = explorer.latents([1, 2, 3])
    images, scores = explorer.images_and_scores(z)
    assert images.shape == (3, 32, 32, 3) and images.dtype.name == "uint8"
    assert scores.shape == (3,) and ((scores > 0) & (scores < 1)).all()
    assert (explorer.images_and_scores(z)[1] == scores).all()
    assert (explorer.images(z) == images).all()
    assert explorer.images_and_scores(z[:0])[1].shape == (0,)


def test_nan_weights_are_never_written_over_a_good_file(tiny_checkpoint, tiny_config):
    diverged = ganlib.Generator(tiny_config).eval()
    with torch.no_grad():
        next(diverged.parameters()).fill_(float("nan"))
    before = tiny_checkpoint.read_bytes()
    with pytest.raises(CheckpointError, match="not written: tensor generator.* NaN"):
        save_generator(tiny_checkpoint, diverged, {})
    assert tiny_checkpoint.read_bytes() == before and load_generator(tiny_checkpoint)
    assert sorted(p.name for p in tiny_checkpoint.parent.iterdir()) == [tiny_checkpoint.name]  # no temp file left


@pytest.mark.parametrize(
    "metadata, message",
    [
        ({"notes": "n" * 5000}, r"not written: metadata\.notes is 5,000 characters long"),
        ({"notes": "\ud800"}, r"not written: metadata\.notes holds U\+D800"),
        ({"dataset": {"name": "a\x1bb"}}, r"not written: metadata\.dataset\.name holds U\+001B"),
        ({"dataset": {"attributes": {f"a{i}": ["x"] for i in range(2001)}}}, "2,001 entries"),
        ({"training": {"steps": "many"}}, r"not written: metadata\.training\.steps must be an integer"),
        ({"extra": object()}, "not written: its metadata cannot be stored as JSON"),
    ],
)
def test_metadata_the_reader_would_refuse_is_never_written(tiny_checkpoint, tiny_config, metadata, message):
    """`export --notes <5,000 characters>` wrote a file that every reader then refused, over its own input too."""
    before = tiny_checkpoint.read_bytes()
    with pytest.raises(CheckpointError, match=message):
        save_generator(tiny_checkpoint, ganlib.Generator(tiny_config).eval(), metadata)
    with pytest.raises(CheckpointError, match="not written"):
        save_generator(tiny_checkpoint.parent / "new" / "fresh.safetensors", ganlib.Generator(tiny_config), metadata)
    assert tiny_checkpoint.read_bytes() == before
    assert sorted(p.name for p in tiny_checkpoint.parent.iterdir()) == [tiny_checkpoint.name]  # not even the folder


def test_every_file_kind_is_checked_before_writing(tmp_path):
    from ganlib.checkpoint import write_atomically

    with pytest.raises(CheckpointError, match="not written: .*a lone surrogate"):
        write_atomically(tmp_path / "e.safetensors", {"w": torch.zeros(1)}, {"format": "ganlib-encoder\udc80"})
    assert not list(tmp_path.iterdir())


def test_loading_probes_the_generator_without_changing_it(tiny_checkpoint):
    from safetensors.torch import load_file

    generator = load_generator(tiny_checkpoint)
    stored = load_file(str(tiny_checkpoint))
    assert not generator.training
    for name, tensor in generator.state_dict().items():
        assert torch.equal(tensor, stored[f"generator.{name}"]), name  # the probe moved no BatchNorm statistics


def test_a_failed_write_names_the_file_and_leaves_nothing(tmp_path, tiny_config, monkeypatch):
    """safetensors raises its own SafetensorError on a full disk, not an OSError: every writer (export,
    import-dcgan, train-encoder, training) must still end in one line naming the file it was writing."""
    import errno

    from safetensors import SafetensorError

    import ganlib.checkpoint as checkpoint

    def full_disk(*args, **kwargs):
        raise SafetensorError(f"Error while serializing: {OSError(errno.ENOSPC, 'No space left on device')}")

    monkeypatch.setattr(checkpoint, "save_file", full_disk)
    target = tmp_path / "g.safetensors"
    with pytest.raises(OSError) as caught:
        save_generator(target, ganlib.Generator(tiny_config).eval(), {"sample_seed": 0})
    assert str(target) in str(caught.value) and "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_gets_the_mode_any_new_file_gets(tmp_path, tiny_checkpoint):
    """safetensors writes 0600 files; a checkpoint is readable by whoever may read the user's other new files."""
    import os
    import stat

    from ganlib.checkpoint import _umask

    path = tiny_checkpoint  # written by a training run, through write_atomically
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert stat.S_IMODE(os.stat(path).st_mode) == stat.S_IMODE(os.stat(plain).st_mode) == 0o666 & ~_umask()
