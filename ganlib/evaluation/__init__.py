"""``ganlib evaluate CKPT``: how good are the samples, and how well does latent arithmetic work, in numbers.

Everything is judged by a classifier: the bundled attribute classifier where ganlib ships one (toonfaces), else a
small one fitted here on the real images (PCA of the pixels + logistic regression per labelled attribute; with no
labels, only the PCA, for the Fréchet distance). The report has one block per question:

- quality: Fréchet distance (FD) between n generated and n real images in the judge's feature space, the FD
  between two disjoint real sets of the same size (what "as good as real" scores), and their ratio;
- attributes and coverage: how often each attribute/class appears in real and generated images;
- arithmetic: for each yes/no attribute and each way of finding its direction (ganlib.directions), how often
  adding / removing it at one strength works and keeps the other attributes, a strength sweep, a random
  direction of the same length as the baseline, and per-face strengths with conditional directions;
- entanglement: cosines between attribute directions, and what conditional (orthogonalised) directions change;
- unsupervised: the top SeFa and GANSpace directions and the attribute each one changes most.

Generated faces for measuring use seeds from ``ganlib.directions.DEFAULT_MEASURE_SEED + seed``, directions are
fitted on seeds ``seed .. seed + n - 1``: the two never overlap. ToonFaces real images are rendered with seed
``3 + seed`` (the GAN trained on seed-0 renders, the classifier on seeds 1 and 2).

One file per part: ``run`` (the whole evaluation), ``real_images``, ``judges``, one per block (``quality``,
``arithmetic``, ``entanglement``, ``unsupervised``), ``frechet`` (the distance itself), ``targets`` (the project's
targets as a scorecard), ``report`` (the readable report, the README's tables and the model card's summary) and
``formatting`` (how a number is written).
"""

from .frechet import frechet_distance
from .judges import PixelJudge
from .report import format_report, markdown_table, summary, write_evaluation_metadata
from .run import evaluate
from .targets import met_count, scorecard

__all__ = [
    "PixelJudge",
    "evaluate",
    "format_report",
    "frechet_distance",
    "markdown_table",
    "met_count",
    "scorecard",
    "summary",
    "write_evaluation_metadata",
]
