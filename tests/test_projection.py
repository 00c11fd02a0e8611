"""ganlib.projection: PCA / t-SNE maps, their parameter checks, feature spaces of a tiny model, k-means, atlas."""

import numpy as np
import pytest

from ganlib import projection
from ganlib.explorer import Explorer


def blobs(n=60, features=12, seed=0):
    """Three well-separated clusters: any sensible 2-D map keeps them apart."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 8, (3, features))
    labels = np.arange(n) % 3
    return centres[labels] + rng.normal(0, 1, (n, features)), labels


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_project_shape_dtype_and_determinism(method):
    features, _ = blobs()
    first = projection.project(features, method, seed=3, perplexity=10, iterations=250)
    again = projection.project(features, method, seed=3, perplexity=10, iterations=250)
    assert first.shape == (60, 2) and first.dtype == np.float32 and np.isfinite(first).all()
    np.testing.assert_allclose(first, again, rtol=1e-5, atol=1e-5)


def test_tsne_keeps_clusters_apart_and_reports_stages():
    features, labels = blobs()
    stages = []
    coordinates = projection.project(
        features,
        "tsne",
        perplexity=10,
        iterations=300,
        progress=lambda fraction, message: stages.append((fraction, message)),
    )
    centres = np.stack([coordinates[labels == c].mean(0) for c in range(3)])
    spread = max(np.linalg.norm(coordinates[labels == c] - centres[c], axis=1).mean() for c in range(3))
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a, b in ((0, 1), (0, 2), (1, 2))]
    assert min(gaps) > 2 * spread
    fractions = [fraction for fraction, _ in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("t-SNE" in message for _, message in stages)


@pytest.mark.slow
def test_tsne_keeps_neighbours_as_well_as_scikit_learns_default_accuracy():
    """The map's faster Barnes-Hut setting (TSNE_ANGLE) keeps each point's neighbours within 0.01 of scikit-learn's
    default accuracy (angle 0.5), on a fixed set: 300 of scikit-learn's handwritten digits."""
    from sklearn.datasets import load_digits
    from sklearn.manifold import TSNE, trustworthiness

    features = load_digits().data[:300]
    summary = projection.reduce(features)
    ours = projection.project(features, "tsne", seed=0, perplexity=30, iterations=500)
    with projection._one_thread():
        default = TSNE(perplexity=30, max_iter=500, init="pca", random_state=0).fit_transform(
            summary.astype(np.float32)
        )
    kept, kept_by_default = (trustworthiness(summary, coordinates, n_neighbors=10) for coordinates in (ours, default))
    assert kept >= kept_by_default - 0.01 and kept > 0.9


def test_pca_is_the_top_two_principal_directions():
    rng = np.random.default_rng(1)
    features = np.column_stack([rng.normal(0, 1, 200), rng.normal(0, 1, 200), np.zeros(200)])
    features[:, 2] = features[:, 0]  # a duplicated column: standardised PCA must find the shared direction first
    coordinates = projection.project(features, "pca")
    assert abs(np.corrcoef(coordinates[:, 0], features[:, 0])[0, 1]) > 0.99


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(method="umap"), "method must be one of"),
        (dict(method="tsne", perplexity=60), "perplexity .* smaller than the number of points"),
        (dict(method="tsne", perplexity=0), "perplexity must be positive"),
        (dict(method="tsne", iterations=100), "at least 250 iterations"),
    ],
)
def test_bad_parameters_are_refused_clearly(kwargs, message):
    features, _ = blobs()
    with pytest.raises(ValueError, match=message):
        projection.project(features, **kwargs)


@pytest.mark.parametrize(
    "features, message",
    [
        (np.zeros(10), "2-D array"),
        (np.zeros((2, 4)), "at least 3 points"),
        (np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0]]), "NaN"),
    ],
)
def test_bad_features_are_refused_clearly(features, message):
    with pytest.raises(ValueError, match=message):
        projection.project(features)


def test_kmeans_labels_range_and_determinism():
    features, _ = blobs()
    labels = projection.kmeans_labels(features, 3, seed=0)
    assert labels.shape == (60,) and labels.min() == 0 and labels.max() == 2
    np.testing.assert_array_equal(labels, projection.kmeans_labels(features, 3, seed=0))
    with pytest.raises(ValueError, match="k must be between"):
        projection.kmeans_labels(features, 0)


def test_atlas_picks_one_point_per_occupied_cell():
    coordinates = np.array([[0, 0], [0.1, 0.1], [9.9, 9.9], [10, 10], [5, 5]], dtype=float)
    indices, centres, (width, height) = projection.atlas_cells(coordinates, cells=2)
    assert width == height == 5.0
    assert sorted(indices.tolist()) == [1, 2]  # nearest the centres (2.5, 2.5) and (7.5, 7.5); (5, 5) ties high
    assert len(centres) == 2


@pytest.fixture
def tiny_explorer(tiny_checkpoint):
    return Explorer.from_checkpoint(tiny_checkpoint)


@pytest.mark.parametrize(
    "space, width", [("z", 8), ("discriminator", None), ("generator", None), ("pixels", 16 * 16 * 3)]
)
def test_feature_spaces_of_a_tiny_checkpoint(tiny_explorer, space, width):
    features = projection.map_points(tiny_explorer, range(10), space, batch_size=4, scores=False).features
    assert features.shape[0] == 10 and features.dtype == np.float32 and np.isfinite(features).all()
    if width:
        assert features.shape[1] == width
    if space == "z":
        np.testing.assert_allclose(features, tiny_explorer.latents(range(10)).numpy())
    if space == "discriminator":
        images = tiny_explorer.generator(tiny_explorer.latents(range(10)))
        np.testing.assert_allclose(features, tiny_explorer.discriminator.embed(images).detach().numpy(), atol=1e-5)


def test_map_points_scores_match_the_explorer(tiny_explorer):
    points = projection.map_points(tiny_explorer, range(5, 12), "generator", batch_size=3)
    z = tiny_explorer.latents(range(5, 12))
    assert points.seeds.tolist() == list(range(5, 12))
    np.testing.assert_allclose(points.d_scores, tiny_explorer.images_and_scores(z)[1], atol=1e-5)
    np.testing.assert_allclose(points.norms, z.norm(dim=1).numpy(), atol=1e-5)
    assert points.attributes is None  # no classifier for the "random" data set


def test_spaces_that_need_a_missing_network_are_refused(tiny_explorer):
    assert "attributes" not in projection.available_spaces(tiny_explorer)
    with pytest.raises(ValueError, match="needs an attribute classifier"):
        projection.map_points(tiny_explorer, range(4), "attributes")
    without_d = Explorer(tiny_explorer.generator)
    assert "discriminator" not in projection.available_spaces(without_d)
    with pytest.raises(ValueError, match="discriminator"):
        projection.map_points(without_d, range(4), "discriminator")
    with pytest.raises(ValueError, match="feature space must be one of"):
        projection.map_points(tiny_explorer, range(4), "colour")


def test_attribute_space_with_a_classifier(tiny_explorer):
    classifier_module = pytest.importorskip("ganlib.classifier")
    classifier = classifier_module.AttributeClassifier(
        {"flag": ["no", "yes"], "tone": ["a", "b", "c"]}, width=4, feature_dim=8
    )
    explorer = Explorer(tiny_explorer.generator, tiny_explorer.discriminator, classifier)
    points = projection.map_points(explorer, range(6), "attributes")
    assert points.features.shape == (6, 1 + 3)  # P(flag=yes) and the three tone classes
    assert set(points.attributes) == {"flag", "tone"} and points.attributes["tone"].shape == (6, 3)
    np.testing.assert_allclose(points.features[:, 0], points.attributes["flag"][:, 1], atol=1e-6)


def test_place_puts_a_maps_own_points_where_the_map_drew_them():
    """A point placed on a PCA map lands where the map put it, so a projected face is shown where its look-alikes are."""
    features, labels = blobs()
    coordinates = projection.project(features, "pca", seed=3)
    placed = projection.place(features, features[:5] + 1e-9, seed=3)
    assert placed.shape == (5, 2) and placed.dtype == np.float32
    np.testing.assert_allclose(placed, coordinates[:5], atol=1e-4)
    with pytest.raises(ValueError, match=r"new features must be \[points, 12\]"):
        projection.place(features, np.zeros((2, 3)))


@pytest.mark.parametrize("space", ["z", "discriminator", "generator", "pixels"])
def test_latent_features_match_the_features_of_the_same_seeds(tiny_explorer, space):
    seeds = [4, 9, 11]
    on_map = projection.map_points(tiny_explorer, seeds, space).features
    np.testing.assert_allclose(
        projection.latent_features(tiny_explorer, tiny_explorer.latents(seeds), space), on_map, rtol=1e-5, atol=1e-5
    )
