"""Directions in z found without any labels: SeFa (closed form, from G's weights) and GANSpace (PCA of activations).

Both answer "which directions does this generator use most?"; what each one *means* (hat? hair colour?) is then
read off by a classifier or by eye (ganlib.component_effects measures and names them). ``top_components`` gives
the top k of both methods as ``Component`` records, the form the dashboard and ``ganlib evaluate`` share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

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


def ganspace(generator, k: int = K, n: int = GANSPACE_SAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """GANSpace (Härkönen et al. 2020): PCA of the first block's activations over n random z, carried back to z
    by least squares. With X the activations' PCA coordinates [n, k], solve z ~ X U for U [k, latent_dim]: row j
    of U is the step in z that moves the activations one unit along principal axis j. Returns the rows of U as
    unit vectors [k, latent_dim] (not orthogonal in general) and each axis's fraction of the variance [k]."""
    from sklearn.utils.extmath import randomized_svd

    latent_dim = generator.config.latent_dim
    if not 1 <= k <= latent_dim:
        raise ValueError(f"k must be from 1 to latent_dim ({latent_dim}), got {k}")
    if n < 2 * k:
        raise ValueError(f"n must be at least 2k ({2 * k}) for a PCA of {k} axes, got {n}")
    z = sample_latents(n, latent_dim, seed)
    activations = first_block_activations(generator, z)
    centred = activations - activations.mean(axis=0)
    # only the top k axes are needed: a randomized SVD is exact enough and ~100x cheaper than a full one on
    # [5000, 4096] activations (a 64-px G's first block)
    _, singular_values, axes = randomized_svd(centred, n_components=k, n_iter=7, random_state=seed)
    coordinates = centred @ axes.T  # [n, k]
    basis, *_ = np.linalg.lstsq(coordinates, z.double().numpy(), rcond=None)  # [k, latent_dim]
    norms = np.linalg.norm(basis, axis=1, keepdims=True)
    fractions = singular_values**2 / max(float((centred**2).sum()), 1e-300)
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
