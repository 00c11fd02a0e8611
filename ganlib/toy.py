"""A 1-D GAN small enough to train at interactive speed, with the theory as numbers.

This module backs the "GAN theory" teaching page.  Everything here is plain
Python / numpy / torch on the CPU; it never imports streamlit.

The math (Goodfellow et al., 2014), natural logarithms throughout
-------------------------------------------------------------------
Data density ``p_data`` (a 1-D Gaussian mixture, :class:`Mixture`), generator
``G: z -> x`` with ``z ~ N(0, I)`` inducing a density ``p_g``, discriminator
``D(x) = sigmoid(logit(x))`` = "probability that x is real".

* Value function:  ``V(D, G) = E_{x~p_data} log D(x) + E_{z} log(1 - D(G(z)))``.
  D maximises V, G minimises it.  The discriminator's training loss is the
  binary cross-entropy, which is exactly ``-V`` on a batch.
* For fixed G, V is maximised pointwise by the optimal discriminator
  ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``   (:func:`optimal_discriminator`).
* Plugging D* in:  ``V(D*, G) = -log 4 + 2 * JSD(p_data || p_g)``, where
  ``JSD(p||q) = 1/2 KL(p||m) + 1/2 KL(q||m)``, ``m = (p+q)/2``, ``0 <= JSD <= log 2``.
  So at equilibrium (``p_g = p_data``) ``D* = 1/2`` everywhere and ``V = -log 4``.
* Hence ``JSD estimate = (log 4 + V(D, G)) / 2``.  For any D,
  ``V(D*, G) - V(D, G) = ∫ (p_data + p_g) KL_Bernoulli(D*(x) || D(x)) dx >= 0``,
  so the estimate is a *lower bound* on the JSD that is tight exactly when
  ``D = D*`` (it is even negative when D does worse than the constant 1/2).  The gap between the ``jsd_estimate`` and ``jsd_exact`` columns
  shows how far the trained D is from D*.
* Generator losses, written as functions of ``d = D(G(z)) = sigmoid(l)``
  (see :func:`generator_loss_curves`):
    - minimax (the original game), which saturates: minimise ``log(1 - d)``;
      ``d/dl log(1 - d) = -d``      -> gradient magnitude ``d``;
    - non-saturating (the practical one): minimise ``-log d``;
      ``d/dl (-log d) = -(1 - d)`` -> gradient magnitude ``1 - d``.
  Early in training D easily rejects fakes (d small): at ``d = 0.1`` the
  minimax loss is ``log 0.9 = -0.105`` with gradient 0.1 (it barely moves),
  while the non-saturating loss is ``-ln 0.1 = 2.303`` with gradient 0.9.
  Both losses have the same fixed point; only the gradient strength differs
  (the history's ``grad_norm_g`` shows it; Adam's step normalisation hides
  much of the difference in the trajectory itself).
* Training alternates ``k = d_steps`` discriminator updates with one generator
  update (Algorithm 1 of the paper).  Larger k keeps D closer to D*, which is
  what makes the JSD reading of V meaningful.  With this small D and its
  learning rate even k = 10 stays far from it: on "two modes", over steps
  300-1,800, the exact JSD was 0.02-0.28 and the estimate at most 0.08
  (k = 1: 0.035-0.148 against 0.00 +- 0.01).
* ``optimal_d=True`` plays the game of the theory instead: before each G step
  D is set to its optimum, the closed-form ``D* = p_data / (p_data + p_g)`` on
  the grid (p_g the KDE of G's current samples), and G descends against it
  (its gradient is the slope of D*'s logit ``log p_data - log p_g``,
  interpolated linearly between grid points).  Then the estimate equals the
  exact JSD up to quadrature.  With the minimax loss G descends the JSD
  itself, and the game shows why the original loss stalls: where G's samples
  sit far from the data, D* is ~0 and flat, so log(1 - D*) gives G nothing.
  The non-saturating loss descends KL(p_g || p_data) - 2 JSD instead (Arjovsky
  and Bottou 2017), which favours covering a single mode well.

How the numbers are computed (see :meth:`ToyGAN.snapshot`)
-----------------------------------------------------------
* ``p_data`` on the grid is exact (:meth:`Mixture.density`).
* ``p_g`` is a Gaussian kernel density estimate of G applied to a *fixed*
  set of evaluation noise vectors (so curves do not jitter from resampling,
  and evaluating never consumes the training random stream).  The KDE uses
  linear binning on the uniform grid followed by a convolution with the
  Gaussian kernel (standard "binned KDE"; O(grid) instead of
  O(samples x grid)), then is renormalised to integrate to 1 on the grid.
  Bandwidth: Scott's rule ``std * n^(-1/5)``, capped at a quarter of the
  narrowest data component's std (Scott's rule over-smooths a multi-modal G,
  which would blur exactly the mode structure we want to see) and floored at
  two grid spacings (so a collapsed G is still resolved by the grid).
* ``V`` is computed by numerical integration on the grid,
  ``∫ p_data log D + p_g log(1 - D) dx``, using the *same* densities as the
  exact JSD.  This is deterministic (no Monte-Carlo noise), and it makes the
  identity ``V(D*) = 2 JSD - log 4`` hold to integration accuracy, so any gap
  between ``jsd_estimate`` and ``jsd_exact`` is due to ``D != D*`` alone.
  (The training batches' Monte-Carlo V is ``-loss_d``.)
* ``jsd_exact`` is ``JSD(p_data, p_g)`` by the trapezoidal rule on the grid.
  It is "exact" up to the KDE of p_g and the grid quadrature.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .config import LOSSES
from .losses import LOG_4

__all__ = [
    "PRESETS",
    "GeneratorLossCurves",
    "Mixture",
    "StepRecord",
    "ToyConfig",
    "ToyGAN",
    "ToySnapshot",
    "binned_gaussian_kde",
    "generator_loss_curves",
    "jensen_shannon",
    "kde_bandwidth",
    "optimal_discriminator",
    "value_from_probabilities",
    "value_function_on_grid",
]


# Probabilities are clipped to [_EPS, 1 - _EPS] before taking logs so that a
# saturated discriminator gives a large finite number rather than -inf.
_EPS = 1e-12
_TINY = 1e-300
OPTIMAL_D_GRID_SIZE = 512  # the grid of D* that G descends against (with optimal_d)


# --------------------------------------------------------------------------
# Pure functions (numpy in, numpy out)
# --------------------------------------------------------------------------
def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """Trapezoidal rule (np.trapz was renamed across numpy versions)."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))


def _rel_entr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise ``a * log(a / b)`` with ``0 log 0 = 0``; needs ``b >= a / 2``.

    Values of ``a`` below 1e-300 count as 0: they contribute nothing
    measurable, and halving a subnormal ``a`` (for ``m = (p+q)/2``) can
    underflow to 0 and give a spurious ``log(a / 0)``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    pos = a > _TINY
    out = np.zeros(np.broadcast(a, b).shape, dtype=np.float64)
    a_b, b_b = np.broadcast_arrays(a, b)
    out[pos] = a_b[pos] * np.log(a_b[pos] / b_b[pos])
    return out


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """``D*(x) = p_data / (p_data + p_g)``, elementwise on density values.

    Where both densities are 0 D* is undefined (it does not affect V); we
    return 0.5 there, the "cannot tell" value.
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    if np.any(p_data < 0) or np.any(p_g < 0):
        raise ValueError("densities must be non-negative")
    total = p_data + p_g
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, p_data / safe, 0.5)


def jensen_shannon(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """JSD(p || q) in nats (so ``0 <= JSD <= log 2``) by the trapezoidal rule.

    ``p`` and ``q`` are density values on the (sorted) grid ``x``; they should
    each integrate to ~1 on it (the grid must cover both supports).  They are
    not renormalised here, so that this matches :func:`value_function_on_grid`.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if not (p.shape == q.shape == x.shape) or x.ndim != 1 or x.size < 2:
        raise ValueError("p, q and x must be 1-D arrays of the same length >= 2")
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("densities must be non-negative")
    m = 0.5 * (p + q)
    integrand = 0.5 * _rel_entr(p, m) + 0.5 * _rel_entr(q, m)
    return _trapezoid(integrand, x)


def value_from_probabilities(d_real, d_fake) -> float:
    """Monte-Carlo ``V = mean log D(x) + mean log(1 - D(G(z)))``.

    Takes discriminator *probabilities* (scalars or arrays) on real samples
    and on fake samples (``ganlib.losses.value_function`` takes logits).  ``value_from_probabilities(0.5, 0.5) == -log 4``.
    """
    d_real = np.clip(np.asarray(d_real, dtype=np.float64), _EPS, 1.0 - _EPS)
    d_fake = np.clip(np.asarray(d_fake, dtype=np.float64), _EPS, 1.0 - _EPS)
    return float(np.mean(np.log(d_real)) + np.mean(np.log1p(-d_fake)))


def value_function_on_grid(p_data: np.ndarray, p_g: np.ndarray, d: np.ndarray, x: np.ndarray) -> float:
    """``V = ∫ p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx`` on the grid ``x``.

    With ``d = optimal_discriminator(p_data, p_g)`` this equals
    ``2 * jensen_shannon(p_data, p_g, x) - log 4`` (up to the densities'
    mass on the grid); for any other ``d`` it is smaller.
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    d = np.clip(np.asarray(d, dtype=np.float64), _EPS, 1.0 - _EPS)
    # Use 0 * log(anything) = 0 so that D* = 0 or 1 where one density vanishes is fine.
    integrand = np.where(p_data > 0, p_data * np.log(d), 0.0) + np.where(p_g > 0, p_g * np.log1p(-d), 0.0)
    return _trapezoid(integrand, x)


@dataclass(frozen=True)
class GeneratorLossCurves:
    """Generator losses and their gradient magnitudes as functions of d = D(G(z))."""

    d: np.ndarray
    minimax: np.ndarray  # log(1 - d), minimised
    non_saturating: np.ndarray  # -log d, minimised
    minimax_grad: np.ndarray  # |d/dlogit log(1 - d)| = d
    non_saturating_grad: np.ndarray  # |d/dlogit (-log d)| = 1 - d


def generator_loss_curves(d) -> GeneratorLossCurves:
    """Both generator losses and their gradients w.r.t. D's logit, for d in (0, 1).

    With ``d = sigmoid(l)``, ``dd/dl = d (1 - d)``, so
    ``d/dl log(1 - d) = -d (1 - d) / (1 - d) = -d`` and
    ``d/dl (-log d) = -d (1 - d) / d = -(1 - d)``.
    When D confidently rejects fakes (d -> 0) the minimax loss's gradient
    vanishes (-> 0) while the non-saturating one's is maximal (-> 1).
    """
    d = np.asarray(d, dtype=np.float64)
    if np.any(~np.isfinite(d)) or np.any(d <= 0.0) or np.any(d >= 1.0):
        raise ValueError("d = D(G(z)) values must lie strictly inside (0, 1)")
    return GeneratorLossCurves(
        d=d,
        minimax=np.log1p(-d),
        non_saturating=-np.log(d),
        minimax_grad=d.copy(),
        non_saturating_grad=1.0 - d,
    )


def kde_bandwidth(samples: np.ndarray, max_bandwidth: float | None = None, min_bandwidth: float = 0.0) -> float:
    """Scott's rule ``std * n^(-1/5)`` clipped to ``[min_bandwidth, max_bandwidth]``."""
    samples = np.asarray(samples, dtype=np.float64).ravel()
    if samples.size < 2:
        raise ValueError("need at least 2 samples for a bandwidth")
    h = float(np.std(samples, ddof=1)) * samples.size ** (-0.2)
    if max_bandwidth is not None:
        h = min(h, max_bandwidth)
    h = max(h, min_bandwidth)
    if not h > 0:
        raise ValueError("bandwidth must be positive (all samples identical and no min_bandwidth)")
    return h


def binned_gaussian_kde(samples: np.ndarray, x: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian KDE of ``samples`` on the *uniform* grid ``x``, via linear binning.

    Each sample's unit mass is split between its two neighbouring grid
    points; the binned masses are convolved with the Gaussian kernel.  With
    the grid spacing well below the bandwidth this matches the direct KDE
    closely.  Samples outside the grid are piled onto the end points.
    The result is renormalised to integrate to 1 on the grid.
    """
    samples = np.asarray(samples, dtype=np.float64).ravel()
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 2 or samples.size < 1:
        raise ValueError("need a grid of >= 2 points and >= 1 sample")
    if not bandwidth > 0:
        raise ValueError("bandwidth must be positive")
    dx = (x[-1] - x[0]) / (n - 1)
    pos = np.clip((samples - x[0]) / dx, 0.0, n - 1.0)
    left = np.minimum(np.floor(pos).astype(np.int64), n - 2)
    frac = pos - left
    mass = np.bincount(left, weights=1.0 - frac, minlength=n) + np.bincount(left + 1, weights=frac, minlength=n)
    mass /= samples.size * dx  # mass per grid cell -> density
    r = min(int(math.ceil(5.0 * bandwidth / dx)), 4 * n)
    t = np.arange(-r, r + 1) * dx
    kernel = np.exp(-0.5 * (t / bandwidth) ** 2)
    kernel /= kernel.sum()
    dens = np.convolve(mass, kernel, mode="full")[r : r + n]
    total = _trapezoid(dens, x)
    return dens / total if total > 0 else dens


# --------------------------------------------------------------------------
# Data distribution
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Mixture:
    """1-D Gaussian mixture ``p_data(x) = sum_i w_i N(x; mean_i, std_i^2)``.

    Weights must be non-negative and are normalised to sum to 1.
    """

    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    def __post_init__(self) -> None:
        try:
            w = tuple(float(v) for v in self.weights)
            m = tuple(float(v) for v in self.means)
            s = tuple(float(v) for v in self.stds)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Mixture weights, means and stds must be sequences of numbers: {exc}") from None
        if not (len(w) == len(m) == len(s)) or len(w) == 0:
            raise ValueError(
                f"Mixture needs >= 1 component and equally many weights, means, stds (got {len(w)}, {len(m)}, {len(s)})"
            )
        if not all(math.isfinite(v) for v in w + m + s):
            raise ValueError("Mixture parameters must be finite")
        if any(v < 0 for v in w) or sum(w) <= 0:
            raise ValueError(f"Mixture weights must be >= 0 with a positive sum (got {w})")
        if any(v <= 0 for v in s):
            raise ValueError(f"Mixture stds must be > 0 (got {s})")
        total = sum(w)
        object.__setattr__(self, "weights", tuple(v / total for v in w))
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "stds", s)

    def density(self, x) -> np.ndarray:
        """Exact density at ``x`` (scalar or array), float64."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros_like(x)
        for w, mu, sd in zip(self.weights, self.means, self.stds):
            out += w * np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2.0 * math.pi))
        return out

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples as a float32 tensor of shape ``(n, 1)``, drawn from ``generator``."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"n must be a non-negative int (got {n!r})")
        weights = torch.tensor(self.weights, dtype=torch.float32)
        idx = (
            torch.multinomial(weights, n, replacement=True, generator=generator)
            if n
            else torch.zeros(0, dtype=torch.long)
        )
        means = torch.tensor(self.means, dtype=torch.float32)[idx]
        stds = torch.tensor(self.stds, dtype=torch.float32)[idx]
        noise = torch.randn(n, generator=generator)
        return (means + stds * noise).unsqueeze(1)

    def plot_range(self, n_std: float = 5.0) -> tuple[float, float]:
        """``(lo, hi)`` covering every component to ``n_std`` standard deviations."""
        lo = min(mu - n_std * sd for mu, sd in zip(self.means, self.stds))
        hi = max(mu + n_std * sd for mu, sd in zip(self.means, self.stds))
        return lo, hi

    @property
    def mean(self) -> float:
        return float(sum(w * mu for w, mu in zip(self.weights, self.means)))

    @property
    def std(self) -> float:
        second = sum(w * (sd**2 + mu**2) for w, mu, sd in zip(self.weights, self.means, self.stds))
        return math.sqrt(max(second - self.mean**2, 0.0))


PRESETS: dict[str, Mixture] = {
    # Unimodal target offset from where a fresh G puts its mass (near 0):
    # G has to move and widen, and the JSD drops steadily.
    "one Gaussian": Mixture(weights=(1.0,), means=(2.0,), stds=(0.5,)),
    # Two overlapping-enough modes: G usually learns to cover both.
    "two modes": Mixture(weights=(0.5, 0.5), means=(-2.0, 2.0), stds=(0.5, 0.5)),
    # Two modes far apart: the continuous G struggles to split its mass and
    # typically collapses onto one mode within a few hundred steps: the JSD
    # then stalls near 0.216, the value for p_g = one of the two modes exactly.
    "far apart": Mixture(weights=(0.5, 0.5), means=(-6.0, 6.0), stds=(0.4, 0.4)),
    # Unequal weights: watch D* and the KDE of G around the small mode.
    "uneven modes": Mixture(weights=(0.75, 0.25), means=(-1.5, 2.5), stds=(0.6, 0.4)),
}


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------
def _check_int(name: str, value, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an int in [{lo}, {hi}] (got {value!r})")


def _check_float(name: str, value, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (lo < float(value) <= hi):
        raise ValueError(f"{name} must be a number in ({lo}, {hi}] (got {value!r})")


@dataclass(frozen=True)
class ToyConfig:
    """Hyper-parameters of :class:`ToyGAN`.  Invalid values raise ``ValueError``.

    ``mixture``, when given, overrides ``preset`` (whose name is then only a label).
    """

    loss: str = "non-saturating"
    d_steps: int = 1  # k discriminator updates per generator update
    lr_g: float = 2e-3
    lr_d: float = 2e-3
    batch_size: int = 128
    noise_dim: int = 2
    hidden: int = 32
    seed: int = 0
    preset: str = "one Gaussian"
    mixture: Mixture | None = None
    eval_samples: int = 4096  # fixed G samples behind the KDE of p_g
    history_grid_size: int = 256  # grid for the per-step JSD/V in the history
    optimal_d: bool = False  # D is the closed-form D* of the current G (no D network, d_steps and lr_d unused)

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES} (got {self.loss!r})")
        _check_int("d_steps", self.d_steps, 1, 20)
        _check_float("lr_g", self.lr_g, 0.0, 1.0)
        _check_float("lr_d", self.lr_d, 0.0, 1.0)
        _check_int("batch_size", self.batch_size, 2, 8192)
        _check_int("noise_dim", self.noise_dim, 1, 64)
        _check_int("hidden", self.hidden, 2, 512)
        _check_int("seed", self.seed, 0, 2**32 - 1)
        _check_int("eval_samples", self.eval_samples, 64, 100_000)
        _check_int("history_grid_size", self.history_grid_size, 16, 4096)
        if not isinstance(self.optimal_d, bool):
            raise ValueError(f"optimal_d must be True or False (got {self.optimal_d!r})")
        if self.mixture is None:
            if self.preset not in PRESETS:
                raise ValueError(f"preset must be one of {list(PRESETS)} (got {self.preset!r})")
        elif not isinstance(self.mixture, Mixture):
            raise ValueError(f"mixture must be a Mixture or None (got {type(self.mixture).__name__})")

    @property
    def data(self) -> Mixture:
        """The data distribution: ``mixture`` if given, else ``PRESETS[preset]``."""
        return self.mixture if self.mixture is not None else PRESETS[self.preset]

    def replace(self, **changes) -> ToyConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------
# Records returned to the page
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class StepRecord:
    """One generator step.  ``value``/``jsd_*`` are measured *after* the step's updates."""

    step: int
    value: float  # V(D, G) by grid integration (see module docstring)
    loss_d: float  # last D update's batch BCE = -V on that batch
    loss_g: float  # the generator batch loss actually minimised (depends on config.loss)
    jsd_estimate: float  # (log 4 + value) / 2
    jsd_exact: float  # JSD(p_data, KDE of p_g) on the grid
    mean_d_real: float  # mean D(x) on the last D update's real batch
    mean_d_fake: float  # mean D(G(z)) on the generator step's batch (before its update)
    grad_norm_g: float  # L2 norm of G's loss gradient (before Adam rescales it): the
    #                     minimax loss gives a weak one while D rejects fakes


@dataclass(frozen=True)
class ToySnapshot:
    """Plot-ready state.  Arrays are float64 numpy; see ToyGAN.snapshot."""

    step: int
    x: np.ndarray  # uniform grid
    p_data: np.ndarray  # exact
    p_g: np.ndarray  # binned Gaussian KDE of G(eval noise)
    d: np.ndarray  # current D(x)
    d_star: np.ndarray  # p_data / (p_data + p_g)
    value: float  # ∫ p_data log D + p_g log(1 - D) on the grid
    value_at_d_star: float  # the same with D = D*  (= 2 jsd_exact - log 4)
    jsd_exact: float
    jsd_estimate: float  # (log 4 + value) / 2  <= jsd_exact
    fake_x: np.ndarray  # a batch (batch_size) of G samples, fixed noise
    d_fake: np.ndarray  # D(G(z)) on that batch
    bandwidth: float  # KDE bandwidth used for p_g
    data_range: tuple[float, float]  # the data's own plot range (the grid may be wider)


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------
def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    """Two hidden LeakyReLU layers.  Weights are left uninitialised (skip_init
    does not draw from torch's global RNG); :func:`_init_` fills them."""
    linear = lambda i, o: torch.nn.utils.skip_init(nn.Linear, i, o)  # noqa: E731
    return nn.Sequential(
        linear(n_in, hidden),
        nn.LeakyReLU(0.2),
        linear(hidden, hidden),
        nn.LeakyReLU(0.2),
        linear(hidden, n_out),
    )


@contextlib.contextmanager
def _single_threaded():
    """Run torch ops on one intra-op thread, restoring the previous count after.

    The matrices here are tiny (batch x 32), yet MKL/OpenMP still split them
    over all threads.  On a small shared CPU (2 cores, other processes busy)
    those threads busy-wait for each other: measured 3-5 training steps/s
    with 2 threads against ~300 steps/s with 1.  Restoring the count keeps
    the change scoped to our own calls (and in a non-main thread, such as a
    Streamlit script thread, OpenMP's thread count is per-thread anyway).
    """
    previous = torch.get_num_threads()
    if previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _init_(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default Linear init, but drawn from ``generator``.

    Avoids touching torch's global RNG, so constructing a ToyGAN inside a
    Streamlit app never perturbs other code's random streams.
    """
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)


class ToyGAN:
    """A 1-D GAN: G maps ``noise_dim`` Gaussian noise to x, D maps x to a logit.

    Usage::

        gan = ToyGAN(ToyConfig(preset="far apart", d_steps=2))
        gan.step(50)                       # 50 generator steps (each with k D steps)
        snap = gan.snapshot()              # numpy arrays for plotting
        gan.history[-1].jsd_exact

    Runs on the CPU.  Its torch work runs single-threaded (see
    :func:`_single_threaded`; the previous thread count is restored), and it
    never draws from torch's global RNG.  Results are deterministic for a
    given config (same torch build / machine); taking snapshots does not
    change the training trajectory.
    """

    def __init__(self, config: ToyConfig | None = None) -> None:
        self.config = config if config is not None else ToyConfig()
        if not isinstance(self.config, ToyConfig):
            raise ValueError("config must be a ToyConfig")
        self.data = self.config.data
        self.reset()

    # -- state -------------------------------------------------------------
    def reset(self) -> None:
        """Re-initialise networks, optimisers, random streams and history (step 0)."""
        cfg = self.config
        init_rng = torch.Generator().manual_seed(cfg.seed)
        self.generator = _mlp(cfg.noise_dim, cfg.hidden, 1)
        self.discriminator = _mlp(1, cfg.hidden, 1)
        _init_(self.generator, init_rng)
        _init_(self.discriminator, init_rng)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr_g, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr_d, betas=(0.5, 0.999))
        # Training stream (real batches + noise) and a fixed evaluation noise set.
        self._rng = torch.Generator().manual_seed(cfg.seed + 1)
        eval_rng = torch.Generator().manual_seed(cfg.seed + 2)
        self._eval_noise = torch.randn(cfg.eval_samples, cfg.noise_dim, generator=eval_rng)
        self.step_count = 0
        self.history: list[StepRecord] = []
        self._d_star_logit: tuple[torch.Tensor, torch.Tensor] | None = None  # (grid, logit) with optimal_d

    # -- training ----------------------------------------------------------
    def _d_step(self) -> tuple[float, float]:
        cfg = self.config
        real = self.data.sample(cfg.batch_size, self._rng)
        z = torch.randn(cfg.batch_size, cfg.noise_dim, generator=self._rng)
        with torch.no_grad():
            fake = self.generator(z)
        logits = self.discriminator(torch.cat([real, fake]))
        lr, lf = logits[: cfg.batch_size], logits[cfg.batch_size :]
        # BCE: -log sigmoid(l) = softplus(-l);  -log(1 - sigmoid(l)) = softplus(l).
        loss_d = nn.functional.softplus(-lr).mean() + nn.functional.softplus(lf).mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        return float(loss_d.detach()), float(torch.sigmoid(lr.detach()).mean())

    def _g_step(self) -> tuple[float, float, float]:
        cfg = self.config
        z = torch.randn(cfg.batch_size, cfg.noise_dim, generator=self._rng)
        logits = self._d_logits(self.generator(z))
        if cfg.loss == "non-saturating":
            loss_g = nn.functional.softplus(-logits).mean()  # -log D(G(z))
        else:
            loss_g = -nn.functional.softplus(logits).mean()  # log(1 - D(G(z)))
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()  # also fills D's grads; they are zeroed before D's next step
        grad_sq = sum(float(p.grad.pow(2).sum()) for p in self.generator.parameters() if p.grad is not None)
        self.opt_g.step()
        return float(loss_g.detach()), float(torch.sigmoid(logits.detach()).mean()), math.sqrt(grad_sq)

    def step(self, n: int = 1) -> list[StepRecord]:
        """Run ``n`` generator steps, each preceded by ``d_steps`` D steps.

        Appends one :class:`StepRecord` per generator step to ``history`` and
        returns the new records.
        """
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"n must be a non-negative int (got {n!r})")
        with _single_threaded():
            return [self._one_step() for _ in range(n)]

    def _d_logits(self, x: torch.Tensor) -> torch.Tensor:
        """D's logit at the points ``x`` [n, 1], differentiable in x: the network's, or with ``optimal_d`` D*'s,
        interpolated linearly on the grid that :meth:`_optimal_d_step` set for this G step."""
        if not self.config.optimal_d:
            return self.discriminator(x)
        grid, logit = self._d_star_logit
        spacing = grid[1] - grid[0]
        position = ((x - grid[0]) / spacing).clamp(0.0, len(grid) - 1.0)
        left = position.detach().floor().long().clamp(max=len(grid) - 2)
        fraction = position - left
        return logit[left] * (1.0 - fraction) + logit[left + 1] * fraction

    def _optimal_d_step(self) -> tuple[float, float]:
        """Set D to D* for the current G (instead of k SGD steps on a network): returns, like a D step, D's loss
        (here -V(D*, G) on the grid, the BCE of D* on the two densities) and the mean D on real data."""
        x, p_data, p_g, _, _ = self._densities(OPTIMAL_D_GRID_SIZE)
        d_star = optimal_discriminator(p_data, p_g)
        # not clipped: far from the data log p_data is -100 or less, and its slope is what pulls G there
        logit = np.log(np.maximum(p_data, _TINY)) - np.log(np.maximum(p_g, _TINY))
        self._d_star_logit = (torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(logit, dtype=torch.float32))
        mean_d_real = _trapezoid(p_data * d_star, x) / _trapezoid(p_data, x)
        return -value_function_on_grid(p_data, p_g, d_star, x), mean_d_real

    def _one_step(self) -> StepRecord:
        if self.config.optimal_d:
            loss_d, mean_d_real = self._optimal_d_step()
        else:
            for _ in range(self.config.d_steps):
                loss_d, mean_d_real = self._d_step()
        loss_g, mean_d_fake, grad_norm_g = self._g_step()
        self.step_count += 1
        value, jsd_exact = self._measure(self.config.history_grid_size)
        record = StepRecord(
            step=self.step_count,
            value=value,
            loss_d=loss_d,
            loss_g=loss_g,
            jsd_estimate=0.5 * (LOG_4 + value),
            jsd_exact=jsd_exact,
            mean_d_real=mean_d_real,
            mean_d_fake=mean_d_fake,
            grad_norm_g=grad_norm_g,
        )
        self.history.append(record)
        return record

    def history_columns(self) -> dict[str, np.ndarray]:
        """The history as ``{field: array}`` (handy for plotly / pandas)."""
        names = [f.name for f in dataclasses.fields(StepRecord)]
        return {name: np.array([getattr(r, name) for r in self.history], dtype=np.float64) for name in names}

    # -- evaluation ----------------------------------------------------------
    @torch.no_grad()
    def discriminator_prob(self, x) -> np.ndarray:
        """Current ``D(x)`` (probability) at the points ``x``, float64 numpy; with ``optimal_d``, D* of the
        current G interpolated from the grid."""
        if self.config.optimal_d:
            grid, p_data, p_g, _, _ = self._densities(OPTIMAL_D_GRID_SIZE)
            return np.interp(np.asarray(x, dtype=np.float64), grid, optimal_discriminator(p_data, p_g))
        x_t = torch.as_tensor(np.asarray(x, dtype=np.float32).reshape(-1, 1))
        with _single_threaded():
            logits = self.discriminator(x_t)
        return torch.sigmoid(logits).double().numpy().reshape(np.shape(x))

    @torch.no_grad()
    def sample_generator(self, n: int | None = None) -> np.ndarray:
        """G applied to the first ``n`` (default all) fixed evaluation noise vectors."""
        z = self._eval_noise if n is None else self._eval_noise[:n]
        with _single_threaded():
            return self.generator(z).double().numpy().ravel()

    def _densities(self, grid_size: int):
        """Grid, exact p_data, KDE p_g, bandwidth and the fake samples behind it."""
        fake = self.sample_generator()
        lo, hi = self.data.plot_range()
        width = hi - lo
        cap = 0.25 * min(self.data.stds)
        # Cover the data and the generator samples (plus kernel tails), but do
        # not let a diverging G stretch the grid beyond 3 data widths per side;
        # samples beyond the grid are piled onto its end points.
        h_cap_guess = kde_bandwidth(fake, max_bandwidth=cap, min_bandwidth=1e-6)
        lo_g = max(min(lo, float(fake.min()) - 5.0 * h_cap_guess), lo - 3.0 * width)
        hi_g = min(max(hi, float(fake.max()) + 5.0 * h_cap_guess), hi + 3.0 * width)
        x = np.linspace(lo_g, hi_g, grid_size)
        dx = x[1] - x[0]
        h = max(h_cap_guess, 2.0 * dx)
        p_g = binned_gaussian_kde(fake, x, h)
        p_data = self.data.density(x)
        return x, p_data, p_g, h, fake

    def _discriminator_on_grid(self, x, p_data, p_g) -> np.ndarray:
        """D on the grid x of these densities: D* itself with ``optimal_d``, else the network."""
        return optimal_discriminator(p_data, p_g) if self.config.optimal_d else self.discriminator_prob(x)

    def _measure(self, grid_size: int) -> tuple[float, float]:
        x, p_data, p_g, _, _ = self._densities(grid_size)
        d = self._discriminator_on_grid(x, p_data, p_g)
        return value_function_on_grid(p_data, p_g, d, x), jensen_shannon(p_data, p_g, x)

    def snapshot(self, grid_size: int = 400) -> ToySnapshot:
        """Plot-ready arrays for the current G and D (does not change any state)."""
        _check_int("grid_size", grid_size, 16, 10_000)
        x, p_data, p_g, h, fake = self._densities(grid_size)
        d = self._discriminator_on_grid(x, p_data, p_g)
        d_star = optimal_discriminator(p_data, p_g)
        value = value_function_on_grid(p_data, p_g, d, x)
        jsd = jensen_shannon(p_data, p_g, x)
        fake_batch = fake[: self.config.batch_size]
        return ToySnapshot(
            step=self.step_count,
            x=x,
            p_data=p_data,
            p_g=p_g,
            d=d,
            d_star=d_star,
            value=value,
            value_at_d_star=value_function_on_grid(p_data, p_g, d_star, x),
            jsd_exact=jsd,
            jsd_estimate=0.5 * (LOG_4 + value),
            fake_x=fake_batch,
            d_fake=np.interp(fake_batch, x, d) if self.config.optimal_d else self.discriminator_prob(fake_batch),
            bandwidth=h,
            data_range=self.data.plot_range(),
        )
