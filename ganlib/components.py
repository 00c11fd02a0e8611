"""Directions in z found without any labels: SeFa (closed form, from G's weights) and GANSpace (PCA of activations).

Both answer "which directions does this generator use most?"; what each one *means* (hat? hair colour?) is then
read off by a classifier or by eye (ganlib.component_effects measures and names them). ``top_components`` gives
the top k of both methods as ``Component`` records, the form the dashboard and ``ganlib evaluate`` share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .budget import BATCH_BYTES, HELD_BYTES
from .latent import sample_latents

K = 5  # components of each method that the dashboard offers and ganlib evaluate names
GANSPACE_SAMPLES = 5000  # latents whose activations GANSpace's PCA reads (2,000 gave the 5th axis at cosine 0.65)
METHODS = {"ganspace": "GANSpace", "sefa": "SeFa"}  # in the order they are offered: GANSpace is the better known


@dataclass(frozen=True)
class Component:
    method: str  # "sefa" or "ganspace"
    index: int  # 0 = the largest
    vector: np.ndarray  # unit vector [latent_dim], float32
    weight: float  # SeFa: eigenvalue of A^T A; GANSpace: fraction of the activations' variance

    @property
    def id(self) -> str:
        """ "pc1", "sefa1": short, stable, for links."""
        return f"{'pc' if self.method == 'ganspace' else 'sefa'}{self.index + 1}"

    @property
    def label(self) -> str:
        """ "PC1" (GANSpace's name for its axes), "SeFa 1"; numbered from 1, largest first."""
        return f"PC{self.index + 1}" if self.method == "ganspace" else f"SeFa {self.index + 1}"


def _first_layer(generator) -> tuple[torch.nn.ConvTranspose2d, torch.nn.BatchNorm2d | None]:
    convolution = generator.net[0]
    if not isinstance(convolution, torch.nn.ConvTranspose2d) or convolution.in_channels != generator.config.latent_dim:
        raise ValueError("expected a DCGAN generator whose first layer is a ConvTranspose2d from z")
    normalization = generator.net[1] if isinstance(generator.net[1], torch.nn.BatchNorm2d) else None
    return convolution, normalization


def _fix_signs(directions: np.ndarray) -> np.ndarray:
    """Eigenvectors and PCA axes have no sign; make each one's largest component positive so runs agree."""
    signs = np.sign(directions[np.arange(len(directions)), np.abs(directions).argmax(axis=1)])
    return directions * np.where(signs == 0, 1.0, signs)[:, None]


@torch.no_grad()
def first_layer_matrix(generator, fold_batchnorm: bool = True) -> np.ndarray:
    """The linear map A [C*16, latent_dim] from z to G's first feature map (C channels x 4 x 4), flattened.

    G's first layer is ConvTranspose2d(latent_dim, C, kernel 4, stride 1, padding 0) on a 1x1 input, so output
    pixel (c, y, x) is sum_i z_i * W[i, c, y, x]: the layer *is* a matrix, W reshaped to [latent_dim, C*16],
    and A is its transpose (the paper's y = A z). With ``fold_batchnorm`` the following BatchNorm's eval-mode
    per-channel scale gamma / sqrt(running_var + eps) is folded in: it is what the rest of G sees, and without it
    channels that BatchNorm shrinks would dominate the eigenvectors.
    """
    convolution, normalization = _first_layer(generator)
    weight = convolution.weight.detach().double().cpu()  # [latent_dim, C, 4, 4]
    if fold_batchnorm and normalization is not None:
        scale = normalization.weight.detach().double().cpu() / torch.sqrt(
            normalization.running_var.detach().double().cpu() + normalization.eps
        )
        weight = weight * scale[None, :, None, None]
    return weight.reshape(weight.shape[0], -1).T.numpy()


def sefa(generator, k: int = K, fold_batchnorm: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """SeFa (Shen & Zhou 2021): the unit directions n that change G's first feature map most, max |A n|^2, are
    the top eigenvectors of A^T A. Returns orthonormal directions [k, latent_dim] and their eigenvalues [k]
    (the squared change of the feature map per unit step), largest first."""
    matrix = first_layer_matrix(generator, fold_batchnorm)
    latent_dim = matrix.shape[1]
    if not 1 <= k <= latent_dim:
        raise ValueError(f"k must be from 1 to latent_dim ({latent_dim}), got {k}")
    eigenvalues, eigenvectors = np.linalg.eigh(matrix.T @ matrix)  # symmetric: eigh, ascending order
    order = np.argsort(eigenvalues)[::-1][:k]
    return _fix_signs(eigenvectors[:, order].T).astype(np.float32), eigenvalues[order]


@torch.no_grad()
def first_block_activations(generator, z: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    """G's first feature map after BatchNorm and ReLU, flattened: [N, C*16]."""
    first_block = generator.net[:3]
    device = next(generator.parameters()).device
    parts = [
        first_block(z[i : i + batch_size, :, None, None].to(device)).flatten(1).double().cpu()
        for i in range(0, len(z), batch_size)
    ]
    return torch.cat(parts).numpy()


class _Activations:
    """The centred first-block activations X [n, C*16] of latents z as a linear operator, in blocks of rows: up
    to ganlib.budget.HELD_BYTES of them are kept between products, the rest are recomputed for each product (G's
    first layer on a 1 x 1 input is one matrix product, and its eval-mode BatchNorm folds into it). Memory stays
    bounded whatever the model's width: a 64-px G's [5000, 6144] activations, held whole in float64 with their
    centred copy, took 740 MB. Blocks are float32, as G computes them; products accumulate in float64."""

    def __init__(self, generator, z: torch.Tensor):
        convolution, normalization = _first_layer(generator)
        with torch.no_grad():
            weight = convolution.weight.detach().float().cpu()  # [latent_dim, C, 4, 4]: the layer's matrix
            shift = torch.zeros(weight.shape[1])
            if normalization is not None:  # eval-mode BatchNorm is a per-channel scale and shift: fold it in
                variance = normalization.running_var.float().cpu()
                scale = normalization.weight.float().cpu() / torch.sqrt(variance + normalization.eps)
                shift = normalization.bias.float().cpu() - normalization.running_mean.float().cpu() * scale
                weight = weight * scale[None, :, None, None]
        self.weight, self.shift = weight.reshape(weight.shape[0], -1), shift.repeat_interleave(16)
        self.activation = generator.net[2 if normalization is not None else 1]  # ReLU, as first_block_activations
        self.z = z.float().cpu()
        width = self.weight.shape[1]
        self.shape = (len(z), width)
        self.rows = max(1, BATCH_BYTES // (4 * width))
        self.held: list[np.ndarray] = []
        total, squares = np.zeros(width), 0.0
        for block in self._blocks():
            total += block.sum(axis=0, dtype=np.float64)
            squares += float(np.einsum("ij,ij->", block, block, dtype=np.float64))
            if (len(self.held) + 1) * self.rows * width * 4 <= HELD_BYTES:
                self.held.append(block)
        self.mean = total / len(z)
        self.squares = max(squares - len(z) * float(self.mean @ self.mean), 0.0)  # the centred sum of squares

    @torch.no_grad()
    def _blocks(self):
        for index, start in enumerate(range(0, len(self.z), self.rows)):
            if index < len(self.held):
                yield self.held[index]
            else:
                rows = self.z[start : start + self.rows]
                yield self.activation(torch.addmm(self.shift, rows, self.weight)).numpy()

    def times(self, matrix: np.ndarray) -> np.ndarray:
        """X @ matrix, for matrix [C*16, r]: [n, r]."""
        thin = matrix.astype(np.float32)
        product = np.concatenate([block @ thin for block in self._blocks()]).astype(np.float64)
        return product - self.mean @ matrix

    def transposed_times(self, matrix: np.ndarray) -> np.ndarray:
        """X.T @ matrix, for matrix [n, r]: [C*16, r]."""
        thin = matrix.astype(np.float32)
        product = np.zeros((self.shape[1], matrix.shape[1]))
        for start, block in zip(range(0, len(self.z), self.rows), self._blocks()):
            product += block.T @ thin[start : start + self.rows]
        return product - np.outer(self.mean, matrix.sum(axis=0))


def _top_axes(activations: _Activations, k: int, seed: int, iterations: int = 7, oversamples: int = 10):
    """The top k singular values and right singular vectors [k, C*16] of the centred activations: scikit-learn's
    randomized_svd (Halko et al. 2009, LU-normalised power iterations, the same random start for the same seed),
    written with products only, so the matrix is never formed."""
    from scipy import linalg

    rows, columns = activations.shape
    transpose = rows < columns  # as scikit-learn: work on the orientation with fewer columns
    times, times_t = activations.times, activations.transposed_times
    if transpose:
        times, times_t = times_t, times
    width = columns if not transpose else rows
    basis = np.random.RandomState(seed).normal(size=(width, k + oversamples))
    for _ in range(iterations):
        basis, _ = linalg.lu(times(basis), permute_l=True, check_finite=False)
        basis, _ = linalg.lu(times_t(basis), permute_l=True, check_finite=False)
    basis, _ = linalg.qr(times(basis), mode="economic", check_finite=False)
    left, singular_values, right = linalg.svd(times_t(basis).T, full_matrices=False, lapack_driver="gesdd")
    axes = (basis @ left).T if transpose else right  # rows: right singular vectors of the activations
    return singular_values[:k], axes[:k]


def ganspace(generator, k: int = K, n: int = GANSPACE_SAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """GANSpace (Härkönen et al. 2020): PCA of the first block's activations over n random z, carried back to z
    by least squares. With X the activations' PCA coordinates [n, k], solve z ~ X U for U [k, latent_dim]: row j
    of U is the step in z that moves the activations one unit along principal axis j. Returns the rows of U as
    unit vectors [k, latent_dim] (not orthogonal in general) and each axis's fraction of the variance [k].
    Only the top k axes are needed: a randomized SVD is exact enough and ~100x cheaper than a full one, and it
    needs only products with the activations, which are recomputed in blocks instead of held (_Activations)."""
    latent_dim = generator.config.latent_dim
    if not 1 <= k <= latent_dim:
        raise ValueError(f"k must be from 1 to latent_dim ({latent_dim}), got {k}")
    if n < 2 * k:
        raise ValueError(f"n must be at least 2k ({2 * k}) for a PCA of {k} axes, got {n}")
    z = sample_latents(n, latent_dim, seed)
    activations = _Activations(generator, z)
    singular_values, axes = _top_axes(activations, k, seed)
    coordinates = activations.times(axes.T)  # [n, k]
    basis, *_ = np.linalg.lstsq(coordinates, z.double().numpy(), rcond=None)  # [k, latent_dim]
    norms = np.linalg.norm(basis, axis=1, keepdims=True)
    fractions = singular_values**2 / max(activations.squares, 1e-300)
    return _fix_signs(basis / np.maximum(norms, 1e-12)).astype(np.float32), fractions


def top_components(generator, k: int = K, samples: int = GANSPACE_SAMPLES, seed: int = 0) -> list[Component]:
    """The top k components of each method, in METHODS' order (k at most latent_dim)."""
    k = min(k, generator.config.latent_dim)
    found = {"ganspace": ganspace(generator, k, n=samples, seed=seed), "sefa": sefa(generator, k)}
    return [
        Component(method, index, vector, float(weight))
        for method, (vectors, weights) in found.items()
        for index, (vector, weight) in enumerate(zip(vectors, weights))
    ]


def closest_other(components: list[Component], chosen: Component) -> tuple[Component, float] | None:
    """The other method's component most parallel to ``chosen``, and |cosine| (signs are arbitrary): on the bundled
    toonfaces64 SeFa k and PC k coincide (|cos| 0.98-0.99 for k = 1-4), which is worth saying on the page."""
    others = [other for other in components if other.method != chosen.method]
    if not others:
        return None
    cosines = [abs(float(np.dot(other.vector, chosen.vector))) for other in others]
    best = int(np.argmax(cosines))
    return others[best], cosines[best]
