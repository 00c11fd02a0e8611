"""DCGAN generator and discriminator (Radford, Metz & Chintala 2016).

G: z -> transposed convolutions with BatchNorm and ReLU -> Tanh image in [-1, 1].
D: image -> strided convolutions with LeakyReLU(0.2) (BatchNorm after the first layer) -> one logit.
D returns a *logit*; D(x), the probability that x is real, is ``sigmoid(logit)`` (see ``Discriminator.probability``).
Working in logits keeps log D and log(1 - D) finite when D saturates.

Both nets are built for 32, 64 or 128 px by adding stride-2 layers; widths double toward the 4x4 end, capped at 8x.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig, channel_widths


def init_weights(module: nn.Module) -> None:
    """Convolutions from N(0, 0.02); BatchNorm scale from N(1, 0.02) and shift 0, as in the DCGAN paper."""
    weight = getattr(module, "weight", None)
    if isinstance(weight, torch.Tensor) and weight.is_meta:
        # a module built on the meta device has shapes only (checkpoint.expected_tensors): there is nothing to
        # draw, and drawing there imports torch._dynamo, 2.5 s of every dashboard's first model load
        return
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        widths = channel_widths(config.generator_width, config.num_upsamplings)
        # state size: latent_dim x 1 x 1 -> widths[0] x 4 x 4
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(config.latent_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        # each block doubles the side: 4 -> 8 -> ... -> image_size / 2
        for width_in, width_out in zip(widths, widths[1:]):
            layers += [
                nn.ConvTranspose2d(width_in, width_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width_out),
                nn.ReLU(True),
            ]
        # state size: widths[-1] x image_size/2 x image_size/2 -> channels x image_size x image_size
        layers += [nn.ConvTranspose2d(widths[-1], config.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: [N, latent_dim] (or [N, latent_dim, 1, 1]) -> images [N, channels, size, size] in [-1, 1]."""
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.net(z)


class Discriminator(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        widths = list(reversed(channel_widths(config.discriminator_width, config.num_upsamplings)))
        # state size: channels x size x size -> widths[0] x size/2 x size/2 (no BatchNorm on the input layer)
        layers: list[nn.Module] = [nn.Conv2d(config.channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        # each block halves the side, down to widths[-1] x 4 x 4
        for width_in, width_out in zip(widths, widths[1:]):
            layers += [
                nn.Conv2d(width_in, width_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width_out),
                nn.LeakyReLU(0.2, True),
            ]
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)  # 4x4 -> 1x1 logit
        self.apply(init_weights)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images [N, C, H, W] in [-1, 1] -> logits [N]."""
        return self.head(self.features(images)).flatten()

    def probability(self, images: torch.Tensor) -> torch.Tensor:
        """D(x): the probability that each image is real."""
        return torch.sigmoid(self(images))

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features, [N, widths[-1]] after global average pooling: what D 'sees', for latent maps."""
        return self.features(images).mean(dim=(2, 3))
