"""The peer we measure our trainer against: the training loop of pytorch/examples' ``dcgan/main.py``, rewritten here.

What it reproduces, as that script does it:
- ``nn.Sequential`` G and D with the same widths as ours (ngf = ndf = 64, nz = 100 by default), BatchNorm and ReLU
  in G ending in Tanh, LeakyReLU(0.2) in D ending in a Sigmoid, N(0, 0.02) init, Adam(2e-4, betas (0.5, 0.999));
- a ``torch.utils.data.DataLoader`` with shuffling and 2 worker processes, converting and normalising each image
  on its own in ``__getitem__`` (its ``ToTensor`` + ``Normalize``);
- ``nn.BCELoss`` on D's probabilities, D stepped on real then fake, G with the non-saturating loss;
- the per-step host syncs: ``D_x``, ``D_G_z1``, ``D_G_z2`` as ``.item()``, and the per-step print of the losses
  (``.item()`` again), here written to a null stream so the terminal is not the bottleneck.
What it leaves out: the image folder on disk (the data is in memory, as ours is), saving sample grids and
checkpoints. Its 64-px nets are the script's; 32 px drops one stride-2 layer from each, as ours does.

``train_reference`` runs the loop for N steps and returns its nets and the numbers it prints at every step
(bench_same_quality.py compares them with our trainer's); ``reference_images_per_second`` times it (bench_speed.py).
On a GPU it runs as main.py does with ``--cuda``: nets, labels and noise on the device, each batch copied there from
the DataLoader, and ``cudnn.benchmark`` on.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import torch
from torch import nn


def _weights_init(module: nn.Module) -> None:
    name = module.__class__.__name__
    if "Conv" in name:
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def reference_generator(image_size: int, nz: int = 100, ngf: int = 64, nc: int = 3) -> nn.Sequential:
    multipliers = [8, 4, 2, 1] if image_size == 64 else [4, 2, 1]
    layers: list[nn.Module] = [
        nn.ConvTranspose2d(nz, ngf * multipliers[0], 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * multipliers[0]),
        nn.ReLU(True),
    ]
    for before, after in zip(multipliers, multipliers[1:]):
        layers += [
            nn.ConvTranspose2d(ngf * before, ngf * after, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * after),
            nn.ReLU(True),
        ]
    layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def reference_discriminator(image_size: int, ndf: int = 64, nc: int = 3) -> nn.Sequential:
    multipliers = [1, 2, 4, 8] if image_size == 64 else [1, 2, 4]
    layers: list[nn.Module] = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    for before, after in zip(multipliers, multipliers[1:]):
        layers += [
            nn.Conv2d(ndf * before, ndf * after, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * after),
            nn.LeakyReLU(0.2, inplace=True),
        ]
    layers += [nn.Conv2d(ndf * multipliers[-1], 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    return nn.Sequential(*layers)


class _PerImageDataset(torch.utils.data.Dataset):
    """uint8 images converted one by one, as torchvision's ToTensor + Normalize((0.5,) * 3, (0.5,) * 3) do."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        image = self.images[index].float().div(255.0)
        return (image - 0.5) / 0.5, 0


@dataclass
class ReferenceRun:
    """What one run of the loop leaves: its nets, the numbers it prints at every step, and its time."""

    generator: nn.Sequential
    discriminator: nn.Sequential
    # per step, as main.py prints them: loss_d (Loss_D), loss_g (Loss_G), d_real (D(x)), d_fake (the first D(G(z)),
    # before D's step), d_fake_after (the second, after it)
    stats: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the steps after the warm-up
    timed_steps: int = 0  # how many steps that was


def train_reference(
    images: torch.Tensor,
    batch_size: int,
    steps: int,
    workers: int = 2,
    seed: int = 0,
    warmup: int = 0,
    initial_weights: tuple[dict, dict] | None = None,
    device: str = "cpu",
    min_seconds: float = 0.0,
    on_step=None,
) -> ReferenceRun:
    """Run the loop for ``steps`` steps on ``images`` (uint8 [N, 3, S, S]), and on past them until the steps after
    the first ``warmup`` have taken ``min_seconds``; ``seconds`` and ``timed_steps`` count those. ``initial_weights``
    (G's and D's state dicts) replace the N(0, 0.02) draw after it, as main.py's ``--netG`` and ``--netD`` options
    load them. ``on_step(steps_done, net_g)``, called after every step, stops the loop by returning True
    (benchmarks/bench_recipe.py snapshots G through it)."""
    torch.manual_seed(seed)
    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True  # as main.py sets it
    size = images.shape[-1]
    channels = images.shape[1]  # main.py's nc: 3, or 1 for MNIST
    net_g, net_d = reference_generator(size, nc=channels), reference_discriminator(size, nc=channels)
    net_g.apply(_weights_init)
    net_d.apply(_weights_init)
    if initial_weights is not None:
        net_g.load_state_dict(initial_weights[0])
        net_d.load_state_dict(initial_weights[1])
    net_g.to(device)
    net_d.to(device)
    criterion = nn.BCELoss()
    optimizer_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = torch.utils.data.DataLoader(
        _PerImageDataset(images),
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        drop_last=True,
        persistent_workers=workers > 0,
    )
    run = ReferenceRun(net_g, net_d)
    log = io.StringIO()
    done, started = 0, time.perf_counter()

    stopped = False

    def finished() -> bool:  # every step ends in .item(), so the clock sees the device's work too
        return stopped or done >= steps and (done <= warmup or time.perf_counter() - started >= min_seconds)

    while not finished():
        for real, _ in loader:
            if done == warmup:
                started = time.perf_counter()
            real = real.to(device)
            net_d.zero_grad()
            label = torch.full((real.size(0),), 1.0, device=device)
            output = net_d(real).view(-1)
            error_d_real = criterion(output, label)
            error_d_real.backward()
            d_x = output.mean().item()
            noise = torch.randn(real.size(0), 100, 1, 1, device=device)
            fake = net_g(noise)
            label.fill_(0.0)
            output = net_d(fake.detach()).view(-1)
            error_d_fake = criterion(output, label)
            error_d_fake.backward()
            d_g_z1 = output.mean().item()
            error_d = error_d_real + error_d_fake
            optimizer_d.step()
            net_g.zero_grad()
            label.fill_(1.0)
            output = net_d(fake).view(-1)
            error_g = criterion(output, label)
            error_g.backward()
            d_g_z2 = output.mean().item()
            optimizer_g.step()
            loss_d, loss_g = error_d.item(), error_g.item()
            print(
                f"Loss_D: {loss_d:.4f} Loss_G: {loss_g:.4f} D(x): {d_x:.4f} D(G(z)): {d_g_z1:.4f} / {d_g_z2:.4f}",
                file=log,
            )
            run.stats.append(
                {"loss_d": loss_d, "loss_g": loss_g, "d_real": d_x, "d_fake": d_g_z1, "d_fake_after": d_g_z2}
            )
            done += 1
            stopped = on_step is not None and bool(on_step(done, net_g))
            if finished():
                break
        log.seek(0)
        log.truncate()
    run.seconds = time.perf_counter() - started
    run.timed_steps = done - warmup
    return run


def reference_images_per_second(
    images: torch.Tensor,
    batch_size: int,
    steps: int,
    warmup: int = 2,
    workers: int = 2,
    seed: int = 0,
    device: str = "cpu",
    min_seconds: float = 0.0,
) -> float:
    """Images through D per second of the reference loop on ``images`` (uint8 [N, 3, S, S]) on ``device``, over at
    least ``steps`` steps and ``min_seconds`` after warm-up."""
    run = train_reference(
        images, batch_size, warmup + steps, workers, seed, warmup=warmup, device=device, min_seconds=min_seconds
    )
    return run.timed_steps * batch_size / run.seconds
