import pytest
import torch

from ganlib import Discriminator, Generator, ModelConfig


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_output_shapes_for_every_size(size, channels):
    config = ModelConfig(image_size=size, channels=channels, latent_dim=8, generator_width=8, discriminator_width=8)
    generator, discriminator = Generator(config), Discriminator(config)
    images = generator(torch.randn(2, 8))
    assert images.shape == (2, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1  # Tanh output
    assert discriminator(images).shape == (2,)
    assert discriminator.embed(images).shape[0] == 2


def test_dcgan_layers_and_init():
    generator, discriminator = Generator(ModelConfig(image_size=64)), Discriminator(ModelConfig(image_size=64))
    assert isinstance(generator.net[-1], torch.nn.Tanh)
    assert any(isinstance(m, torch.nn.LeakyReLU) and m.negative_slope == 0.2 for m in discriminator.modules())
    conv_weights = torch.cat(
        [m.weight.flatten() for m in generator.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    )
    assert abs(conv_weights.std().item() - 0.02) < 0.002 and abs(conv_weights.mean().item()) < 0.001
    bn_weights = torch.cat([m.weight.flatten() for m in generator.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert abs(bn_weights.mean().item() - 1.0) < 0.01
    # the paper's 64-px generator: 512 channels at 4x4, down to 64 before the RGB layer
    assert generator.net[0].out_channels == 512 and generator.net[-2].in_channels == 64


@pytest.mark.parametrize(
    "field, value", [("image_size", 48), ("channels", 2), ("latent_dim", 0), ("generator_width", 2)]
)
def test_model_config_rejects_nonsense(field, value):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**{field: value})


def test_a_model_on_the_meta_device_draws_nothing(monkeypatch):
    """checkpoint.expected_tensors builds the architecture on the meta device to read its shapes: drawing weights
    there imported torch._dynamo, 2.5 s of every dashboard's first model load."""

    def refuse(*args, **kwargs):
        raise AssertionError("drew weights on the meta device")

    monkeypatch.setattr(torch.nn.init, "normal_", refuse)
    with torch.device("meta"):
        generator, discriminator = Generator(ModelConfig(image_size=32)), Discriminator(ModelConfig(image_size=32))
    assert all(tensor.is_meta for tensor in [*generator.state_dict().values(), *discriminator.state_dict().values()])
