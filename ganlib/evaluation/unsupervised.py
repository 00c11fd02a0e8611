"""The report's block on directions found without labels (ganlib.components: SeFa and GANSpace): each one named
by the attribute the judge sees it change most (``name_directions``)."""

from __future__ import annotations

import torch

from ..components import K, ganspace, sefa
from ..directions import DEFAULT_MEASURE_SEED, attribute_probability, classify_latents

STEP, FACES = 3.0, 200  # the top K directions of each method, each moved ±STEP on FACES faces


def name_directions(explorer, seed: int) -> dict:
    """The top SeFa and GANSpace directions, each with the attribute it changes most: mean p(attribute) after a
    step +STEP minus after -STEP, on faces that neither fitted nor measured any attribute direction."""
    k = min(K, explorer.latent_dim)
    found = {"sefa": sefa(explorer.generator, k), "ganspace": ganspace(explorer.generator, k, seed=seed)}
    first = DEFAULT_MEASURE_SEED + 500_000 + seed  # yet another seed set: neither fitted on nor measured with
    z = explorer.latents(range(first, first + FACES))
    attributes = explorer.binary_attributes()
    block = {"step": STEP, "faces": FACES}
    for method, (directions, weights) in found.items():
        rows = []
        for index, (vector, weight) in enumerate(zip(directions, weights)):
            row = {"index": index, "eigenvalue" if method == "sefa" else "variance_fraction": float(weight)}
            if attributes:
                step = STEP * torch.as_tensor(vector)
                plus, minus = classify_latents(explorer, z + step), classify_latents(explorer, z - step)
                changes = {
                    a: float(
                        attribute_probability(plus, a, explorer.attributes).mean()
                        - attribute_probability(minus, a, explorer.attributes).mean()
                    )
                    for a in attributes
                }
                top = max(changes, key=lambda a: abs(changes[a]))
                row.update({"top_attribute": top, "change": changes[top], "changes": changes})
            rows.append(row)
        block[method] = rows
    return block
