"""The pixel judge that stands in for an attribute classifier on data sets ganlib ships none for."""

import numpy as np
import pytest

from ganlib.evaluation import PixelJudge


@pytest.mark.slow
def test_pixel_judge_learns_labels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 60, (200, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, 200)
    images[labels == 1, :, :, 0] += 150  # class 1 is red
    judge = PixelJudge.fit(images, {"red": labels}, {"red": ("no", "yes")})
    assert judge.accuracy["red"] > 0.95
    assert judge.predict_proba(images)["red"].shape == (200, 2)
