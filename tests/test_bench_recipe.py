"""benchmarks/bench_recipe.py end to end on a tiny budget: every recipe trains in its own process, its copies are
scored as evaluate --quality-only scores them, and the table, JSON and curves come out."""

import json

from benchmarks import bench_recipe
from ganlib.config import TrainConfig


def test_every_recipe_names_only_real_training_settings():
    fields = set(TrainConfig.__dataclass_fields__)
    for name, settings in bench_recipe.RECIPES.items():
        if settings.get("loop") == "reference":
            continue
        assert set(settings) <= fields, name
        TrainConfig(**settings)  # valid values


def test_a_tiny_comparison_prints_the_table_and_writes_the_curves(tmp_path, capsys):
    out = tmp_path / "report.json"
    code = bench_recipe.main(
        ["--dataset", "digits", "--minutes", "0.04", "--every", "0.02", "--recipes", "defaults,reference",
         "--n", "64", "--json", str(out), "--png", str(tmp_path / "curves.png")]
    )  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    rows = {row["recipe"]: row for row in report["rows"]}
    assert set(rows) == {"defaults", "reference"}
    for row in rows.values():
        assert not row["error"]
        assert len(row["points"]) == 2
        minutes = [point["cpu_minutes"] for point in row["points"]]
        assert minutes == sorted(minutes) and minutes[0] >= 0.02
        assert all(point["fd_ratio"] > 0 and point["step"] > 0 for point in row["points"])
    printed = capsys.readouterr().out
    assert "defaults" in printed and "reference" in printed and "cpu flags" in printed
    assert (tmp_path / "curves.png").stat().st_size > 1000
