"""Entanglement: how much the attribute directions point the same way (the report's conditional comparison, what
projecting the others out changes, is measured with the arithmetic)."""

from __future__ import annotations

import numpy as np

METHOD = "mean_difference"


def measure_entanglement(explorer, n: int, seed: int, fitting: tuple) -> dict:
    """Cosines between the mean-difference directions of every attribute (classes one at a time), fitted on the
    labelled seeds ``fitting`` (seed .. seed + n - 1)."""
    names, vectors, skipped = [], [], {}
    for attribute in explorer.binary_attributes():
        try:
            vectors.append(explorer.direction(attribute, METHOD, n=n, seed=seed, labelled=fitting).vector)
            names.append(attribute)
        except ValueError as error:
            skipped[attribute] = str(error)
    matrix = np.array(vectors) @ np.array(vectors).T if vectors else np.zeros((0, 0))
    pairs = [
        (abs(matrix[i, j]), names[i], names[j], float(matrix[i, j]))
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if names[i].split("=")[0] != names[j].split("=")[0]
    ]
    strongest = [{"a": a, "b": b, "cosine": c} for _, a, b, c in sorted(pairs, reverse=True)[:3]]
    return {
        "method": METHOD,
        "names": names,
        "cosine": matrix.round(4).tolist(),
        "most_entangled": strongest,
        "skipped": skipped,
    }
