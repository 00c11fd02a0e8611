"""A small CNN that reads the attributes of a ToonFaces image: the judge of every latent edit.

Why it exists: a direction in z ("add sunglasses") is only as good as its effect on the generated pictures, and
nobody labels GAN samples by hand, and InterFaceGAN's users keep asking for its attribute classifier;
ganlib ships one for its own data set, trained on renders, so directions and edit scores work out of the box.

Every image is resized to 64 x 64 (bilinear) before the network sees it, so one classifier serves 32-, 64- and
128-px generators. It is trained on a mix of 64-px renders and 32-px renders upsampled to 64, with small shifts,
brightness jitter and blur, because generated 32-px faces are blurry and never quite where the renders are.

    python -m ganlib.classifier --out ganlib/assets/toonfaces_classifier.safetensors

retrains the bundled file (a few minutes on one CPU thread) and stores the held-out accuracies in its metadata.
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from .checkpoint import CheckpointError, load_module_state, read_metadata, write_atomically

CLASSIFIER_FORMAT = "ganlib-attribute-classifier"
FORMAT_VERSION = 1
INPUT_SIZE = 64
ASSETS = Path(__file__).parent / "assets"
BUNDLED = {"toonfaces": ASSETS / "toonfaces_classifier.safetensors"}
# A second judge of another architecture, seed and renders: edits optimised against the bundled classifier (the
# "keep the person" editor) are scored by this one too, so an edit cannot pass by fooling one network.
SECOND_JUDGE = {"toonfaces": ASSETS / "toonfaces_second_judge.safetensors"}
BODIES = ("strided", "pooled")

_bundled_cache: dict[Path, AttributeClassifier] = {}
_bundled_lock = threading.Lock()


def _default_attributes() -> dict[str, list[str]]:
    from .data.toonfaces import ATTRIBUTES

    return {name: list(classes) for name, classes in ATTRIBUTES.items()}


def _block(width_in: int, width_out: int, body: str = "strided") -> list[nn.Module]:
    if body == "pooled":  # the second judge's: 3x3 stride-1 convolution, then 2x2 max pooling (VGG-like)
        return [
            nn.Conv2d(width_in, width_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width_out),
            nn.ReLU(True),
            nn.MaxPool2d(2),
        ]
    # a strided 4x4 convolution halves the side (64 -> 32 -> 16 -> 8 -> 4): DCGAN's discriminator body, and
    # 6x cheaper on a CPU than stride-1 convolutions followed by pooling
    return [nn.Conv2d(width_in, width_out, 4, 2, 1, bias=False), nn.BatchNorm2d(width_out), nn.ReLU(True)]


class AttributeClassifier(nn.Module):
    """images -> one softmax head per attribute. ``forward`` takes float [N, 3, 64, 64] in [-1, 1] and returns
    {attribute: logits [N, classes]}; ``predict_proba`` and ``features`` take uint8 [N, H, W, 3] of any size."""

    def __init__(
        self,
        attributes: dict[str, list[str]] | None = None,
        width: int = 16,
        feature_dim: int = 192,
        body: str = "strided",
    ):
        super().__init__()
        if body not in BODIES:
            raise ValueError(f"body must be one of {', '.join(BODIES)}, got {body!r}")
        self.body = body
        self.attributes = {name: list(classes) for name, classes in (attributes or _default_attributes()).items()}
        self.width = width
        self.feature_dim = feature_dim
        widths = [width, 2 * width, 4 * width, 8 * width]
        layers: list[nn.Module] = []
        for width_in, width_out in zip([3] + widths, widths):
            layers += _block(width_in, width_out, body)
        # state size: 8*width x 4 x 4. The 4x4 map is flattened, not pooled: where a colour sits (hat above the
        # brow, hair beside the ears) is what tells a hat from hair.
        self.convolutions = nn.Sequential(*layers)
        self.embedding = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1] * 16, feature_dim), nn.ReLU(True))
        self.heads = nn.ModuleDict(
            {name: nn.Linear(feature_dim, len(classes)) for name, classes in self.attributes.items()}
        )

    def architecture(self) -> dict:
        return {
            "attributes": self.attributes,
            "width": self.width,
            "feature_dim": self.feature_dim,
            "body": self.body,
            "input_size": INPUT_SIZE,
        }

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """float [N, 3, 64, 64] in [-1, 1] -> penultimate features [N, feature_dim]."""
        return self.embedding(self.convolutions(x))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.embed(x)
        return {name: head(features) for name, head in self.heads.items()}

    @torch.no_grad()
    def predict_proba(self, images: np.ndarray, batch_size: int = 256) -> dict[str, np.ndarray]:
        """uint8 [N, H, W, 3] -> {attribute: class probabilities [N, classes]} (rows sum to 1)."""
        chunks = {name: [] for name in self.attributes}
        for batch in _batches(images, batch_size):
            for name, logits in self.eval()(batch).items():
                chunks[name].append(torch.softmax(logits, dim=1).numpy())
        return {
            name: np.concatenate(parts) if parts else np.zeros((0, len(self.attributes[name])), np.float32)
            for name, parts in chunks.items()
        }

    @torch.no_grad()
    def features(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """uint8 [N, H, W, 3] -> penultimate features [N, feature_dim] (e.g. for a Frechet distance)."""
        parts = [self.eval().embed(batch).numpy() for batch in _batches(images, batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.feature_dim), np.float32)


def to_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float [N, 3, 64, 64] in [-1, 1], resized with bilinear interpolation."""
    images = torch.as_tensor(np.asarray(images))
    if images.dim() != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected uint8 images shaped [N, H, W, 3], got {tuple(images.shape)}")
    if images.dtype != torch.uint8:
        raise ValueError(f"expected uint8 images, got {images.dtype}")
    x = images.permute(0, 3, 1, 2).float() / 127.5 - 1.0
    if tuple(x.shape[2:]) != (INPUT_SIZE, INPUT_SIZE):
        downsampling = x.shape[2] > INPUT_SIZE or x.shape[3] > INPUT_SIZE
        x = F.interpolate(
            x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=downsampling
        )
    return x


def _batches(images, batch_size: int):
    for start in range(0, len(images), batch_size):
        yield to_input(images[start : start + batch_size])


# ---------------------------------------------------------------- files (safetensors + JSON, never pickle)


def save_classifier(path, model: AttributeClassifier, metadata: dict | None = None) -> Path:
    """Write the weights (fp16: the file stays well under 2 MB) and JSON metadata (architecture, accuracies)."""
    path = Path(path)
    tensors = {
        name: (tensor.half() if tensor.is_floating_point() else tensor) for name, tensor in model.state_dict().items()
    }
    full = {
        **(metadata or {}),
        "format": CLASSIFIER_FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": model.architecture(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_atomically(path, tensors, full)
    return path


def load_classifier(path) -> AttributeClassifier:
    """An eval-mode classifier with ``.metadata``; a bad file raises CheckpointError (a ValueError)."""
    metadata = read_metadata(path)
    if metadata["format"] != CLASSIFIER_FORMAT:
        raise CheckpointError(path, f"not an attribute classifier (format {metadata['format']!r})")
    try:
        architecture = metadata["architecture"]
        attributes = {str(name): [str(c) for c in classes] for name, classes in architecture["attributes"].items()}
        model = AttributeClassifier(
            attributes,
            width=int(architecture["width"]),
            feature_dim=int(architecture["feature_dim"]),
            body=str(architecture.get("body", "strided")),  # files from before the second judge have no body
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(path, f"invalid classifier architecture in metadata: {error}") from None
    try:
        tensors = load_file(str(path))
    except Exception as error:
        raise CheckpointError(path, f"tensors cannot be read ({type(error).__name__})") from None
    load_module_state(path, model, tensors, "classifier")
    model.metadata = metadata
    return model.eval()


def load_bundled_classifier(dataset_name: str, second: bool = False) -> AttributeClassifier | None:
    """The classifier ganlib ships for this data set (loaded once per process), or None where there is none;
    ``second``: the second judge (SECOND_JUDGE)."""
    path = (SECOND_JUDGE if second else BUNDLED).get(dataset_name)
    if path is None or not path.is_file():
        return None
    with _bundled_lock:
        if path not in _bundled_cache:
            _bundled_cache[path] = load_classifier(path)
        return _bundled_cache[path]


# ---------------------------------------------------------------- training on rendered faces


def _augment(x: torch.Tensor, generator: torch.Generator, max_shift: int = 3) -> torch.Tensor:
    """Small shifts, brightness/contrast/colour jitter and a light blur on half the batch: generated faces are
    off-centre, a little off-colour and soft, and the classifier must not care."""
    n = x.shape[0]
    padded = F.pad(x, (max_shift,) * 4, mode="replicate")
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator).tolist()
    x = torch.stack([padded[i, :, dy[i] : dy[i] + INPUT_SIZE, dx[i] : dx[i] + INPUT_SIZE] for i in range(n)])
    gain = 1 + 0.15 * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)
    channel_gain = 1 + 0.05 * (2 * torch.rand(n, 3, 1, 1, generator=generator) - 1)
    offset = 0.1 * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)
    x = ((x + 1) * gain * channel_gain - 1 + offset).clamp(-1, 1)
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)  # 3x3 box
    amount = torch.rand(n, 1, 1, 1, generator=generator) * (torch.rand(n, 1, 1, 1, generator=generator) < 0.5)
    x = x + amount * (blurred - x)
    return x + 0.03 * torch.randn(x.shape, generator=generator)  # a little pixel noise, as in GAN samples


def _render(n: int, seed: int, image_size: int, cache: bool):
    from .data.toonfaces import load_toonfaces, render_toonfaces

    return (load_toonfaces if cache else render_toonfaces)(n, seed=seed, image_size=image_size)


def evaluate(
    model: AttributeClassifier, n: int = 4000, seed: int = 2, sizes=(32, 64, 128), cache: bool = False
) -> dict[str, dict[str, float]]:
    """Held-out accuracy {size: {attribute: fraction correct}} on fresh renders at each size."""
    report = {}
    for size in sizes:
        images, labels = _render(n, seed, size, cache)
        probabilities = model.predict_proba(images)
        report[str(size)] = {
            name: float((probabilities[name].argmax(1) == labels[name]).mean()) for name in model.attributes
        }
    return report


def train_attribute_classifier(
    n_train: int = 20000,
    n_test: int = 4000,
    seed: int = 1,
    epochs: int = 8,
    batch_size: int = 128,
    learning_rate: float = 3e-3,
    width: int = 16,
    feature_dim: int = 192,
    body: str = "strided",
    low_resolution_fraction: float = 0.5,
    cache: bool = True,
    log=print,
) -> tuple[AttributeClassifier, dict]:
    """Train on ``n_train`` faces rendered with ``seed``; test on ``n_test`` faces rendered with ``seed + 1``
    at 32, 64 and 128 px. Each training image is shown at 64 px or, with probability ``low_resolution_fraction``,
    as its 32-px render upsampled to 64. Returns the eval-mode model and a report (accuracies, seconds)."""
    started, cpu_started = time.time(), time.process_time()
    faces, labels = _render(n_train, seed, 64, cache)
    small_faces, _ = _render(n_train, seed, 32, cache)
    targets = {name: torch.from_numpy(values) for name, values in labels.items()}
    torch.manual_seed(seed)  # weight init; batches and augmentation use their own generator
    generator = torch.Generator().manual_seed(seed)
    model = AttributeClassifier(width=width, feature_dim=feature_dim, body=body)
    steps_per_epoch = math.ceil(n_train / batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=learning_rate, total_steps=epochs * steps_per_epoch, pct_start=0.15
    )
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n_train, generator=generator)
        total_loss = 0.0
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            low = torch.rand(len(index), generator=generator) < low_resolution_fraction
            x = to_input(faces[index.numpy()])
            if low.any():
                x[low] = to_input(small_faces[index[low].numpy()])
            logits = model(_augment(x, generator))
            loss = sum(F.cross_entropy(logits[name], targets[name][index]) for name in model.attributes)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += loss.item()
        log(f"epoch {epoch + 1}/{epochs}: loss {total_loss / steps_per_epoch:.4f} ({time.time() - started:.0f} s)")
    model.eval()
    training_seconds, cpu_seconds = time.time() - started, time.process_time() - cpu_started
    accuracy = evaluate(model, n_test, seed + 1)
    # wall time depends on what else runs on the machine; CPU time (summed over threads) does not
    report = {
        "accuracy": accuracy,
        "training_seconds": round(training_seconds, 1),
        "training_cpu_seconds": round(cpu_seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "training": {
            "n_train": n_train,
            "n_test": n_test,
            "train_seed": seed,
            "test_seed": seed + 1,
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "low_resolution_fraction": low_resolution_fraction,
        },
    }
    return model, report


def main(argv=None) -> None:
    from .threads import add_threads_option, apply_threads_option

    parser = argparse.ArgumentParser(
        prog="python -m ganlib.classifier", description="Train the ToonFaces attribute classifier and save it."
    )
    parser.add_argument("--out", default=str(BUNDLED["toonfaces"]), help="output .safetensors file")
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-test", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1, help="training renders; the test renders use seed + 1")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument(
        "--body",
        choices=BODIES,
        default="strided",
        help="strided 4x4 convolutions (the bundled judge), or 3x3 convolutions with max pooling (the second "
        "judge: python -m ganlib.classifier --body pooled --width 24 --seed 11 "
        "--out ganlib/assets/toonfaces_second_judge.safetensors)",
    )
    add_threads_option(parser)
    args = parser.parse_args(argv)
    try:
        apply_threads_option(args)
    except ValueError as error:
        parser.error(str(error))
    model, report = train_attribute_classifier(
        n_train=args.n_train, n_test=args.n_test, seed=args.seed, epochs=args.epochs, width=args.width, body=args.body
    )
    for size, accuracies in report["accuracy"].items():
        print(f"{size:>4} px: " + "  ".join(f"{name} {value:.2%}" for name, value in accuracies.items()))
    path = save_classifier(args.out, model, {"dataset": "toonfaces", **report})
    print(
        f"trained in {report['training_seconds']:.0f} s ({report['training_cpu_seconds']:.0f} s of CPU) on "
        f"{report['torch_threads']} thread(s); "
        f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)"
    )
    print(json.dumps(report["accuracy"]))


if __name__ == "__main__":
    main()
