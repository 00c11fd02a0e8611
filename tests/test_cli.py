import json
import signal

from PIL import Image

from ganlib.cli import main


def test_train_sample_interpolate_info(tmp_path, capsys):
    out = tmp_path / "run"
    handlers = [signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)]
    assert (
        main(
            [
                "train",
                "--dataset",
                "digits",
                "--image-size",
                "32",
                "--steps",
                "4",
                "--batch-size",
                "8",
                "--latent-dim",
                "8",
                "--generator-width",
                "8",
                "--discriminator-width",
                "8",
                "--out",
                str(out),
                "--quiet",
                "--log-every",
                "2",
            ]
        )
        == 0
    )
    # train's Stop handlers hold the trainer: they must not outlive the command
    assert [signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)] == handlers
    checkpoint = out / "generator.safetensors"
    assert main(["sample", str(checkpoint), "--n", "16", "--seed", "0", "--out", str(tmp_path / "grid.png")]) == 0
    assert Image.open(tmp_path / "grid.png").size == (4 * 34 + 2, 4 * 34 + 2)
    assert (
        main(
            [
                "interpolate",
                str(checkpoint),
                "--seeds",
                "1",
                "2",
                "3",
                "--frames",
                "6",
                "--out",
                str(tmp_path / "walk.gif"),
            ]
        )
        == 0
    )
    walk = Image.open(tmp_path / "walk.gif")
    assert walk.n_frames == 6
    assert (
        main(
            [
                "interpolate",
                str(checkpoint),
                "--seeds",
                "1",
                "2",
                "--frames",
                "4",
                "--scale",
                "1",
                "--out",
                str(tmp_path / "strip.png"),
            ]
        )
        == 0
    )
    assert Image.open(tmp_path / "strip.png").size == (4 * 34 + 2, 36)
    capsys.readouterr()
    assert main(["info", str(checkpoint)]) == 0
    assert "digits" in capsys.readouterr().out
    assert main(["info", str(checkpoint), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["latent_dim"] == 8


def test_bad_input_is_one_clear_line(tmp_path, capsys):
    junk = tmp_path / "junk.safetensors"
    junk.write_text("hello")
    assert main(["sample", str(junk)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: junk.safetensors:") and error.count("\n") == 1
    assert main(["train", "--dataset", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--lr", "5", "--quiet", "--dataset", "digits"]) == 2
    assert "lr must be" in capsys.readouterr().err
    assert main(["interpolate", str(junk), "--seeds", "1"]) == 2


def test_threads_option_refuses_nonsense(capsys):
    assert main(["train", "--dataset", "digits", "--threads", "0", "--quiet"]) == 2
    assert "--threads must be from 1 to 256" in capsys.readouterr().err
    assert main(["evaluate", "nothing.safetensors", "--threads", "999"]) == 2
    assert "--threads must be from 1 to 256" in capsys.readouterr().err


def _one_line_error(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and words in err, err


def test_nonsense_values_get_one_line_each(tiny_checkpoint, tmp_path, capsys):
    ckpt = str(tiny_checkpoint)
    png = str(tmp_path / "g.png")
    cases = [
        (["sample", ckpt, "--scale", "100000", "--out", png], "--scale must be from 1 to 32"),
        (["sample", ckpt, "--n", "1024", "--scale", "32", "--out", png], "megapixels"),
        (["sample", ckpt, "--scale", "0", "--out", png], "--scale must be from 1"),
        (["sample", ckpt, "--scale", "-3", "--out", png], "--scale must be from 1"),
        (["sample", ckpt, "--columns", "0", "--out", png], "--columns must be from 1 to 16"),
        (["sample", ckpt, "--truncation", "nan", "--out", png], "--truncation must be from 0 to 1.5, got nan"),
        (["sample", ckpt, "--seed", "-1", "--out", png], "--seed must be from 0"),
        (["sample", ckpt, "--n", "0", "--out", png], "--n must be from 1 to 1024"),
        (["sample", ckpt, "--out", str(tmp_path)], "is a folder"),
        (["sample", ckpt, "--out", ""], "--out is empty"),
        (["sample", ckpt, "--out", str(tmp_path / "grid.jpg")], "must be a file name ending in .png"),
        (["interpolate", ckpt, "--seeds", "1", "2", "--scale", "5000", "--out", str(tmp_path / "w.gif")], "--scale"),
        (
            ["interpolate", ckpt, "--seeds", "1", "2", "--frame-ms", "-1", "--out", str(tmp_path / "w.gif")],
            "--frame-ms must be from 20",
        ),
        (["interpolate", ckpt, "--seeds", "1", "--out", str(tmp_path / "w.gif")], "number of --seeds"),
        (["interpolate", ckpt, "--seeds", "1", "2", "--out", str(tmp_path)], "is a folder"),
        (["export", ckpt, "--out", str(tmp_path)], "is a folder"),
        (["train", "--dataset", "/proc", "--quiet", "--out", str(tmp_path / "r")], "has no images"),
        (["train", "--dataset", str(tmp_path / "missing"), "--quiet", "--out", str(tmp_path / "r")], "does not exist"),
    ]
    not_a_report = tmp_path / "other.json"
    not_a_report.write_text('{"a": 1}')
    partial = tmp_path / "partial.json"
    partial.write_text('{"meta": {}, "fd": 1}')
    cases += [
        (["evaluate", "--from-json", str(not_a_report)], "not a report that ganlib evaluate wrote"),
        (["evaluate", "--from-json", str(partial), "--markdown"], "the report lacks"),
        (["evaluate", "--from-json", str(partial)], "the report lacks"),
    ]
    for argv, words in cases:
        _one_line_error(capsys, argv, words)
    assert not (tmp_path / "g.png").exists()


def test_a_file_that_cannot_be_written_is_one_line(tiny_checkpoint, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    _one_line_error(capsys, ["sample", str(tiny_checkpoint), "--out", str(blocker / "grid.png")], "error: ")


# ---------------------------------------------------------------------------------------------- info and export on
# hostile or foreign files (issue 20: A, B, F): one line naming the file, a card printed whole or not at all, and
# nothing written that the reader would refuse, never over the input
def _safetensors_file(path, metadata: dict | None, tensors: dict | None = None):
    """A safetensors file whose header metadata is ``metadata`` (None: none at all)."""
    import torch
    from safetensors.torch import save_file

    save_file(tensors or {"w": torch.zeros(2)}, str(path), metadata=metadata)
    return path


def test_info_says_what_any_safetensors_file_is_in_one_line(tmp_path, capsys):
    assert main(["info", "ganlib/assets/toonfaces_classifier.safetensors"]) == 0  # was an AttributeError traceback
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1 and "an attribute classifier" in printed
    assert main(["info", "checkpoints/toonfaces64.encoder.safetensors"]) == 0
    assert "an encoder" in capsys.readouterr().out
    other_format = {"ganlib": json.dumps({"format": "x", "format_version": 1, "model": "m"})}
    foreign = _safetensors_file(tmp_path / "x.safetensors", other_format)
    _one_line_error(capsys, ["info", str(foreign)], "x.safetensors: a safetensors file, but not a ganlib generator")
    assert main(["info", str(foreign), "--json"]) == 0 and json.loads(capsys.readouterr().out)["model"] == "m"
    for name, metadata in (("bare.safetensors", None), ("other.safetensors", {"framework": "pt"})):
        path = _safetensors_file(tmp_path / name, metadata)
        _one_line_error(capsys, ["info", str(path)], f"{name}: a safetensors file of 1 tensor(s), but not a ganlib")


def test_info_prints_no_half_card_for_a_text_that_cannot_be_printed(tiny_checkpoint, tmp_path, capsys):
    from safetensors.torch import load_file

    from ganlib.checkpoint import read_metadata

    metadata = {"ganlib": json.dumps({**read_metadata(tiny_checkpoint), "notes": "\ud800"})}
    path = _safetensors_file(tmp_path / "surrogate.safetensors", metadata, load_file(str(tiny_checkpoint)))
    assert main(["info", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # eight lines of card came before the error
    assert captured.err.startswith("error: surrogate.safetensors: metadata.notes holds U+D800")


def test_info_prints_any_text_on_an_ascii_terminal(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    import io
    import sys

    assert main(["export", str(tiny_checkpoint), "--out", str(tmp_path / "n.safetensors"), "--notes", "café ✓"]) == 0
    capsys.readouterr()
    ascii_stdout = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", ascii_stdout)
    assert main(["info", str(tmp_path / "n.safetensors")]) == 0
    ascii_stdout.seek(0)
    assert "notes         caf\\xe9 \\u2713" in ascii_stdout.read()


def test_export_refuses_notes_the_reader_would_refuse_before_writing(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "long.safetensors"
    for notes, words in (("n" * 5000, "--notes is 5,000 characters long (at most 4,000)"), ("a\x1b[2J", "U+001B")):
        _one_line_error(capsys, ["export", str(tiny_checkpoint), "--out", str(out), "--notes", notes], words)
        assert not out.exists()


def test_export_never_writes_over_its_input(tiny_checkpoint, tmp_path, capsys):
    before = tiny_checkpoint.read_bytes()
    link = tmp_path / "link.safetensors"
    link.symlink_to(tiny_checkpoint)
    for out in (tiny_checkpoint, link):
        _one_line_error(capsys, ["export", str(tiny_checkpoint), "--out", str(out), "--half"], "is the input file")
    assert tiny_checkpoint.read_bytes() == before
    assert main(["export", str(link), "--out", str(tmp_path / "copy.safetensors"), "--notes", "fine"]) == 0
