"""ganlib: train DCGANs and write checkpoints that describe themselves.

    import ganlib
    generator = ganlib.load_generator("checkpoints/toonfaces32.safetensors")
    z = ganlib.sample_latents(16, generator.config.latent_dim, seed=0)
    ganlib.save_png(ganlib.make_grid(ganlib.generate(generator, z)), "grid.png")

Heavy submodules (data sets, training) are imported on first use, so ``import ganlib`` stays cheap.
"""

from .checkpoint import CheckpointError, load_discriminator, load_generator, read_metadata, save_generator
from .config import ModelConfig, TrainConfig
from .images import generate, gif_bytes, make_grid, png_bytes, save_png, to_uint8
from .latent import (
    analogy,
    apply_direction,
    concept_vector,
    interpolation_path,
    latents_for_seeds,
    lerp,
    sample_latents,
    slerp,
    truncate,
)
from .losses import discriminator_loss, generator_loss, js_divergence_estimate, value_function
from .models import Discriminator, Generator
from .version import __version__

__all__ = [
    "__version__",
    "CheckpointError",
    "Discriminator",
    "Generator",
    "ModelConfig",
    "TrainConfig",
    "analogy",
    "apply_direction",
    "concept_vector",
    "discriminator_loss",
    "generate",
    "generator_loss",
    "gif_bytes",
    "interpolation_path",
    "js_divergence_estimate",
    "latents_for_seeds",
    "lerp",
    "load_dataset",
    "load_discriminator",
    "load_generator",
    "make_grid",
    "png_bytes",
    "read_metadata",
    "render_toonfaces",
    "sample_latents",
    "save_generator",
    "save_png",
    "slerp",
    "to_uint8",
    "truncate",
    "value_function",
]


def render_toonfaces(n, seed=0, image_size=64):
    """Procedural cartoon faces with attribute labels: (uint8 [N, H, W, 3], {attribute: int array [N]})."""
    from .data.toonfaces import render_toonfaces as render

    return render(n, seed=seed, image_size=image_size)


def load_dataset(name, image_size=64, data_root="data", num_images=30000, seed=0):
    from .data import load_dataset as load

    return load(name, image_size=image_size, data_root=data_root, num_images=num_images, seed=seed)
