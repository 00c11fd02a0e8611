"""ganlib import-dcgan: pytorch/examples' dcgan/main.py state dicts become a ganlib checkpoint whose G draws the same
images and whose D gives the same probabilities; anything else is refused with one line, without running code."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganlib
from ganlib.checkpoint import CheckpointError
from ganlib.cli import main
from ganlib.dcgan_import import import_discriminator, import_generator, read_state_dict

NZ, NGF, NDF = 16, 8, 8


class NetG(nn.Module):
    """pytorch/examples dcgan/main.py's Generator (ngpu dropped), at 64 px, or 32 px with one stride-2 layer less."""

    def __init__(self, nc=3, image_size=64):
        super().__init__()
        if image_size == 64:
            self.main = nn.Sequential(
                nn.ConvTranspose2d(NZ, NGF * 8, 4, 1, 0, bias=False),  # state size. (ngf*8) x 4 x 4
                nn.BatchNorm2d(NGF * 8),
                nn.ReLU(True),
                nn.ConvTranspose2d(NGF * 8, NGF * 4, 4, 2, 1, bias=False),  # state size. (ngf*4) x 8 x 8
                nn.BatchNorm2d(NGF * 4),
                nn.ReLU(True),
                nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False),  # state size. (ngf*2) x 16 x 16
                nn.BatchNorm2d(NGF * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False),  # state size. (ngf) x 32 x 32
                nn.BatchNorm2d(NGF),
                nn.ReLU(True),
                nn.ConvTranspose2d(NGF, nc, 4, 2, 1, bias=False),  # state size. (nc) x 64 x 64
                nn.Tanh(),
            )
        else:
            self.main = nn.Sequential(
                nn.ConvTranspose2d(NZ, NGF * 4, 4, 1, 0, bias=False),  # state size. (ngf*4) x 4 x 4
                nn.BatchNorm2d(NGF * 4),
                nn.ReLU(True),
                nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False),  # state size. (ngf*2) x 8 x 8
                nn.BatchNorm2d(NGF * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False),  # state size. (ngf) x 16 x 16
                nn.BatchNorm2d(NGF),
                nn.ReLU(True),
                nn.ConvTranspose2d(NGF, nc, 4, 2, 1, bias=False),  # state size. (nc) x 32 x 32
                nn.Tanh(),
            )

    def forward(self, z):
        return self.main(z)


class NetD(nn.Module):
    """pytorch/examples dcgan/main.py's Discriminator: ends in a Sigmoid, so it returns probabilities."""

    def __init__(self, nc=3, image_size=64):
        super().__init__()
        layers = [nn.Conv2d(nc, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]  # (ndf) x 32 x 32
        multipliers = [1, 2, 4, 8] if image_size == 64 else [1, 2, 4]
        for before, after in zip(multipliers, multipliers[1:]):
            layers += [
                nn.Conv2d(NDF * before, NDF * after, 4, 2, 1, bias=False),
                nn.BatchNorm2d(NDF * after),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        layers += [nn.Conv2d(NDF * multipliers[-1], 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)


def _trained_a_little(net: nn.Module, inputs: torch.Tensor) -> nn.Module:
    """Random weights and BatchNorm statistics that are not the defaults, as a trained net has."""
    torch.manual_seed(1)
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, 0.1)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, 0.2)
            nn.init.normal_(module.bias, 0.0, 0.2)
    net.train()
    with torch.no_grad():
        for _ in range(3):  # moves running_mean / running_var and counts num_batches_tracked
            net(inputs)
    return net.eval()


@pytest.mark.parametrize("image_size, nc", [(64, 3), (32, 1)])
def test_imported_nets_match_the_originals(tmp_path, capsys, image_size, nc):
    net_g = _trained_a_little(NetG(nc, image_size), torch.randn(8, NZ, 1, 1))
    net_d = _trained_a_little(NetD(nc, image_size), torch.randn(8, nc, image_size, image_size))
    torch.save(net_g.state_dict(), tmp_path / "netG_epoch_24.pth")
    torch.save(net_d.state_dict(), tmp_path / "netD_epoch_24.pth")
    out = tmp_path / "imported.safetensors"
    command = ["import-dcgan", str(tmp_path / "netG_epoch_24.pth"), "--netd", str(tmp_path / "netD_epoch_24.pth")]
    assert main([*command, "--out", str(out)]) == 0
    assert f"{image_size} px, {nc} channels, latent dim {NZ}" in capsys.readouterr().out

    generator, discriminator = ganlib.load_generator(out), ganlib.load_discriminator(out)
    assert generator.config == ganlib.ModelConfig(image_size, nc, NZ, NGF, NDF)
    z = torch.randn(5, NZ)
    with torch.no_grad():
        theirs, ours = net_g(z[:, :, None, None]), generator(z)
        assert torch.allclose(ours, theirs, atol=1e-5)
        assert torch.allclose(discriminator.probability(theirs), net_d(theirs), atol=1e-5)
    ours_d = discriminator.state_dict()
    for name, tensor in net_d.state_dict().items():
        if "running" in name or "num_batches_tracked" in name:
            assert torch.equal(ours_d["features." + name.removeprefix("main.")], tensor), name
    assert int(ours_d["features.3.num_batches_tracked"]) == 3

    metadata = generator.metadata
    assert metadata["imported_from"]["source"] == "pytorch/examples dcgan"
    assert metadata["imported_from"]["generator"]["file"] == "netG_epoch_24.pth"
    assert len(metadata["imported_from"]["discriminator"]["sha256"]) == 64
    assert "netG_epoch_24.pth" in metadata["notes"] and metadata["has_discriminator"]


def test_a_generator_alone_imports(tmp_path):
    torch.save(NetG().state_dict(), tmp_path / "netG.pth")
    generator = import_generator(tmp_path / "netG.pth")
    assert generator.config.image_size == 64 and generator.config.latent_dim == NZ


def test_dataparallel_prefixes_are_dropped(tmp_path):
    state = {"module." + name: tensor for name, tensor in NetG().state_dict().items()}
    torch.save(state, tmp_path / "netG.pth")
    assert set(read_state_dict(tmp_path / "netG.pth")) == set(NetG().state_dict())


def _save(tmp_path, payload, name="net.pth"):
    path = tmp_path / name
    torch.save(payload, path)
    return path


@pytest.mark.parametrize(
    "payload, message",
    [
        (lambda: NetG(), "refused it"),  # a whole pickled module: loading it would run code
        (lambda: [torch.zeros(1)], "holds list, not a state dict"),
        (lambda: {"main.0.weight": [1.0, 2.0]}, "not a tensor"),
        (lambda: nn.Linear(3, 4).state_dict(), "not a layer of a pytorch/examples DCGAN"),
        (lambda: {"main.0.weight": torch.zeros(4, 4, 4, 4)}, "1 convolution"),
        (
            lambda: {k: v for k, v in NetG().state_dict().items() if k != "main.4.running_mean"},
            "no main.4.running_mean",
        ),
        (
            lambda: {**NetG().state_dict(), "main.4.weight": torch.zeros(3)},
            "main.4.weight has shape",
        ),
        (
            lambda: {**NetG().state_dict(), "main.1.weight": torch.full((NGF * 8,), float("nan"))},
            "NaN",
        ),
    ],
)
def test_other_files_are_refused_with_one_line(tmp_path, capsys, payload, message):
    path = _save(tmp_path, payload())
    with pytest.raises(CheckpointError, match=message):
        import_generator(path)
    assert main(["import-dcgan", str(path), "--out", str(tmp_path / "out.safetensors")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: net.pth: ") and error.count("\n") == 1
    assert not (tmp_path / "out.safetensors").exists()


def test_text_and_missing_files_are_refused(tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="refused it"):
        read_state_dict(text)
    with pytest.raises(CheckpointError, match="no such file"):
        read_state_dict(tmp_path / "missing.pth")


def test_a_discriminator_for_other_images_is_refused(tmp_path):
    generator = import_generator(_save(tmp_path, NetG().state_dict(), "netG.pth"))
    with pytest.raises(CheckpointError, match="32-px, 3-channel images; the generator makes 64-px"):
        import_discriminator(_save(tmp_path, NetD(3, 32).state_dict(), "netD.pth"), generator.config)
    extra = {**NetD().state_dict(), "main.12.weight": torch.zeros(1)}  # a weight on the Sigmoid
    with pytest.raises(CheckpointError, match="main.12.weight has no place"):
        import_discriminator(_save(tmp_path, extra), generator.config)


def test_the_out_file_must_be_safetensors(tmp_path, capsys):
    path = _save(tmp_path, NetG().state_dict(), "netG.pth")
    assert main(["import-dcgan", str(path), "--out", str(tmp_path / "model.pth")]) == 2
    assert "must be a file name ending in .safetensors" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- issue 20: F, G, L
def test_notes_the_reader_would_refuse_leave_no_file(tmp_path, capsys):
    """`import-dcgan --notes <5,000 characters>` exited 2 but left the file that it then could not read."""
    path = _save(tmp_path, NetG().state_dict(), "netG.pth")
    out = tmp_path / "out.safetensors"
    for notes, words in (("n" * 5000, "--notes is 5,000 characters long"), ("\x1b[31m", "U+001B")):
        assert main(["import-dcgan", str(path), "--out", str(out), "--notes", notes]) == 2
        error = capsys.readouterr().err
        assert error.startswith("error: ") and words in error and error.count("\n") == 1
        assert not out.exists()
    with pytest.raises(CheckpointError, match="not written: metadata.notes is 5,000 characters"):
        ganlib.dcgan_import.import_dcgan(path, out, notes="n" * 5000)  # the library call checks too
    assert not out.exists()


def test_a_generator_that_draws_nan_is_not_imported(tmp_path, capsys):
    state = NetG().state_dict()
    negative = {**state, "main.1.running_var": -torch.ones_like(state["main.1.running_var"])}
    with pytest.raises(CheckpointError, match="net.1.running_var holds a negative variance"):
        import_generator(_save(tmp_path, negative))
    overflowing = torch.full_like(state["main.0.weight"], 3e38)
    overflowing[:, 1::2] *= -1  # +inf in some channels, -inf in others: the next layer adds them up to NaN
    huge = {**state, "main.0.weight": overflowing}
    assert main(["import-dcgan", str(_save(tmp_path, huge)), "--out", str(tmp_path / "out.safetensors")]) == 2
    assert "makes NaN or infinite pixels" in capsys.readouterr().err
    assert not (tmp_path / "out.safetensors").exists()


@pytest.mark.parametrize(
    "payload, message",
    [
        (lambda: {0: torch.zeros(1)}, "has the key 0 (int), not a layer name such as 'main.0.weight'"),
        (lambda: {k: v.to_sparse() for k, v in NetG().state_dict().items()}, "is a sparse_coo tensor"),
        (lambda: {k: v.to("meta") for k, v in NetG().state_dict().items()}, "is a meta tensor"),
    ],
)
def test_odd_tensors_are_one_line_without_library_warnings(tmp_path, capsys, payload, message):
    """A sparse state dict printed torch's UserWarning and then a traceback; a meta one a traceback; an int key read
    "entry '0' is Tensor, not a tensor"."""
    path = _save(tmp_path, payload())
    assert main(["import-dcgan", str(path), "--out", str(tmp_path / "out.safetensors")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: net.pth: ") and message in error and error.count("\n") == 1, error


def test_torchs_refusal_reaches_the_terminal_without_escape_sequences(tmp_path, capsys):
    assert main(["import-dcgan", str(_save(tmp_path, NetG())), "--out", str(tmp_path / "out.safetensors")]) == 2
    error = capsys.readouterr().err
    assert "refused it" in error and "\x1b" not in error


def test_the_out_file_is_never_an_input(tmp_path, capsys):
    path = _save(tmp_path, NetG().state_dict(), "netG.safetensors")  # a torch.save file under another suffix
    before = path.read_bytes()
    assert main(["import-dcgan", str(path), "--out", str(path)]) == 2
    assert "is the input file" in capsys.readouterr().err and path.read_bytes() == before
