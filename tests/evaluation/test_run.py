"""``ganlib evaluate`` end to end on tiny checkpoints: keys, value ranges, the CLI and the metadata summary."""

import json

import numpy as np
import pytest
import torch

import ganlib
from ganlib.checkpoint import read_metadata
from ganlib.cli import main
from ganlib.evaluation import evaluate, format_report, markdown_table, met_count, summary


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Hundreds of tiny forward passes: with 2 threads on 2 busy cores they ran 6x slower than with 1."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class ColourJudge:
    """A stand-in attribute classifier that reads colour statistics: deterministic, instant, and sensitive
    enough to see an untrained generator's small differences. Thresholds sit at the median of reference images,
    so both classes of every attribute appear."""

    attributes = {"sunglasses": ["no", "yes"], "smiling": ["no", "yes"], "hair": ["dark", "mid", "light"]}

    def __init__(self, reference):
        statistics = self._statistics(reference)
        self.centre, self.scale = np.median(statistics, axis=0), statistics.std(axis=0) + 1e-9

    @staticmethod
    def _statistics(images):
        return images.astype(np.float64).mean(axis=(1, 2))  # [N, 3] channel means

    def predict_proba(self, images):
        s = np.clip(4 * (self._statistics(images) - self.centre) / self.scale, -30, 30)

        def yes(x):
            return np.stack([1 / (1 + np.exp(x)), 1 / (1 + np.exp(-x))], axis=1)

        hair = np.exp(np.stack([-s[:, 2], np.zeros(len(s)), s[:, 2]], axis=1))
        return {"sunglasses": yes(s[:, 0]), "smiling": yes(s[:, 1]), "hair": hair / hair.sum(1, keepdims=True)}

    def features(self, images):
        return images[:, ::8, ::8].reshape(len(images), -1) / 255.0


def tiny_file(path, dataset, channels=3, half=False):
    torch.manual_seed(0)
    config = ganlib.ModelConfig(
        image_size=32, channels=channels, latent_dim=8, generator_width=8, discriminator_width=8
    )
    generator = ganlib.Generator(config).eval()
    with torch.no_grad():
        generator.net[-2].weight.mul_(30)  # an untrained G draws near-grey images; make them differ
    ganlib.save_generator(
        path,
        generator,
        {"dataset": {"name": dataset, "num_images": 64}, "training": {"steps": 0}, "sample_seed": 0},
        discriminator=ganlib.Discriminator(config).eval(),
        half=half,
    )
    return path


@pytest.fixture(scope="module")
def toonfaces_report(tmp_path_factory):
    path = tiny_file(tmp_path_factory.mktemp("evaluate") / "toon.safetensors", "toonfaces")
    generator = ganlib.load_generator(path)
    judge = ColourJudge(ganlib.generate(generator, ganlib.sample_latents(400, 8, seed=5000)))
    return evaluate(path, n=64, seed=0, strength=1.5, classifier=judge)


def is_rate(value):
    return value is None or 0.0 <= value <= 1.0


@pytest.mark.slow
def test_quality_and_attribute_blocks(toonfaces_report):
    report = toonfaces_report
    json.dumps(report, allow_nan=False)  # strictly JSON: NaN became null
    assert report["fd"] > 0 and report["fd_real_baseline"] > 0
    assert report["fd_ratio"] == pytest.approx(report["fd"] / report["fd_real_baseline"])
    assert report["fd_samples"] == 64
    assert set(report["attributes"]) == {"sunglasses", "smiling", "hair"}
    assert 0 <= report["attributes"]["sunglasses"]["generated"] <= 1
    assert sum(report["attributes"]["hair"]["generated"].values()) == pytest.approx(1.0)
    assert report["coverage"]["hair"]["classes"] == 3
    meta = report["meta"]
    assert meta["n"] == 64 and meta["seed"] == 0 and meta["seconds"]["total"] > 0 and "cpu" in meta["device"]


def test_arithmetic_blocks(toonfaces_report):
    arithmetic = toonfaces_report["arithmetic"]
    assert set(arithmetic) == {"sunglasses", "smiling"}  # the yes/no attributes
    measured = 0
    for attribute, methods in arithmetic.items():
        assert set(methods) == {"exemplar3", "mean_difference", "svm", "per_face_strength"}
        for method in ("exemplar3", "mean_difference", "svm"):
            figures = methods[method]
            if "error" in figures:
                continue
            measured += 1
            for key in ("add_success", "add_keep_others", "remove_success", "remove_keep_others"):
                assert is_rate(figures[key]) and is_rate(figures["random"][key])
            assert [point["strength"] for point in figures["sweep"]] == [0.5, 1.0, 2.0, 3.0]
            assert all(is_rate(point["add_success"]) for point in figures["sweep"])
            assert set(figures["add_keep_each"]) == {"hair", "smiling", "sunglasses"} - {attribute}
    assert measured >= 4
    per_face = arithmetic["sunglasses"]["per_face_strength"]
    assert per_face["conditional"] and is_rate(per_face["add"].get("success"))


def test_mean_difference_beats_a_random_direction(toonfaces_report):
    figures = toonfaces_report["arithmetic"]["sunglasses"]["mean_difference"]
    assert figures["add_success"] > figures["random"]["add_success"]


def test_entanglement_and_unsupervised_blocks(toonfaces_report):
    entanglement = toonfaces_report["entanglement"]
    cosine = np.array(entanglement["cosine"])
    assert cosine.shape == (len(entanglement["names"]),) * 2
    np.testing.assert_allclose(np.diag(cosine), 1.0, atol=1e-3)
    assert set(entanglement["conditional"]["smiling"]) == {"mean_difference", "svm"}
    unsupervised = toonfaces_report["unsupervised"]
    assert len(unsupervised["sefa"]) == 5 and len(unsupervised["ganspace"]) == 5
    assert all(row["top_attribute"] in entanglement["names"] for row in unsupervised["sefa"])


def test_readable_report_and_summary(toonfaces_report):
    text = "\n".join(format_report(toonfaces_report))
    for heading in (
        "QUALITY",
        "ATTRIBUTES",
        "ARITHMETIC",
        "STRENGTH SWEEP",
        "PER-FACE",
        "ENTANGLEMENT",
        "UNSUPERVISED",
        "TARGETS",
    ):
        assert heading in text
    assert "sunglasses: mean_difference conditional, per-face strength" in text
    lines = summary(toonfaces_report)
    assert lines["FD ratio"].startswith(f"{toonfaces_report['fd_ratio']:.1f}")
    assert lines["sunglasses, per-face strength"].startswith("add ")
    met, total = met_count(toonfaces_report)
    assert lines["targets met"].startswith(f"{met} of {total}") and total == 3


def test_markdown_table_from_a_saved_report(toonfaces_report, tmp_path, capsys):
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(toonfaces_report))
    assert main(["evaluate", "--from-json", str(saved), "--markdown"]) == 0
    assert capsys.readouterr().out.strip() == markdown_table(toonfaces_report)
    assert main(["evaluate"]) == 2
    assert "name a checkpoint" in capsys.readouterr().err


@pytest.mark.slow
def test_class_labelled_data_gets_a_fitted_judge(tmp_path):
    """digits: no bundled classifier, so a pixel judge is fitted on real digits; no yes/no attributes to edit."""
    path = tiny_file(tmp_path / "digits.safetensors", "digits", channels=1)
    report = evaluate(path, n=64)
    assert report["meta"]["judge"]["kind"].startswith("pixel PCA")
    assert 0 <= report["meta"]["judge"]["held_out_accuracy"]["digit"] <= 1
    coverage = report["coverage"]["digit"]
    assert (
        coverage["classes"] == 10 and 0 <= coverage["coverage"] <= 1 and 0 < coverage["mean_confidence_generated"] <= 1
    )
    assert report["arithmetic"] == {} and report["fd"] >= 0
    assert len(report["unsupervised"]["sefa"]) == 5


@pytest.mark.slow
def test_cli_prints_json_and_writes_the_summary_into_an_fp16_file(tmp_path, capsys):
    path = tiny_file(tmp_path / "digits16.safetensors", "digits", channels=1, half=True)
    before = ganlib.load_generator(path).state_dict()
    assert (
        main(
            [
                "evaluate",
                str(path),
                "--n",
                "32",
                "--json",
                "--quiet",
                "--write-metadata",
                "--out",
                str(tmp_path / "report.json"),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["meta"]["n"] == 32 and json.loads((tmp_path / "report.json").read_text())["fd"] == report["fd"]
    metadata = read_metadata(path)
    assert metadata["dtype"] == "float16" and metadata["has_discriminator"]
    assert "FD ratio" in metadata["evaluation"]["summary"] and metadata["dataset"]["name"] == "digits"
    after = ganlib.load_generator(path).state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_cli_errors_are_one_line(tiny_checkpoint, capsys):
    assert main(["evaluate", str(tiny_checkpoint), "--n", "32", "--quiet"]) == 2  # data set "random" cannot be reloaded
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and "--data" in error and "\n" not in error
    assert main(["evaluate", str(tiny_checkpoint), "--n", "5"]) == 2


def test_quality_only_measures_fd_and_frequencies_and_nothing_else(toonfaces_report, tmp_path):
    path = tiny_file(tmp_path / "toon.safetensors", "toonfaces")
    generator = ganlib.load_generator(path)
    judge = ColourJudge(ganlib.generate(generator, ganlib.sample_latents(400, 8, seed=5000)))
    quick = evaluate(path, n=64, seed=0, strength=1.5, classifier=judge, quality_only=True)
    assert quick["fd"] == pytest.approx(toonfaces_report["fd"])  # the same samples and real sets as the full run
    assert quick["attributes"] == toonfaces_report["attributes"]
    assert quick["arithmetic"] == {} and quick["entanglement"] == {} and quick["unsupervised"] == {}
    assert quick["meta"]["quality_only"] and "seconds" in quick["meta"]
    text = "\n".join(format_report(quick))
    assert "QUALITY" in text and "ARITHMETIC" not in text and "UNSUPERVISED" not in text
