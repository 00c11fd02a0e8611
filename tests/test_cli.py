import json

from PIL import Image

from ganlib.cli import main


def test_train_sample_interpolate_info(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "digits", "--image-size", "32", "--steps", "4", "--batch-size", "8",
                 "--latent-dim", "8", "--generator-width", "8", "--discriminator-width", "8", "--out", str(out),
                 "--quiet", "--log-every", "2"]) == 0
    checkpoint = out / "generator.safetensors"
    assert main(["sample", str(checkpoint), "--n", "16", "--seed", "0", "--out", str(tmp_path / "grid.png")]) == 0
    assert Image.open(tmp_path / "grid.png").size == (4 * 34 + 2, 4 * 34 + 2)
    assert main(["interpolate", str(checkpoint), "--seeds", "1", "2", "3", "--frames", "6", "--out", str(tmp_path / "walk.gif")]) == 0
    walk = Image.open(tmp_path / "walk.gif")
    assert walk.n_frames == 6
    assert main(["interpolate", str(checkpoint), "--seeds", "1", "2", "--frames", "4", "--scale", "1", "--out", str(tmp_path / "strip.png")]) == 0
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
