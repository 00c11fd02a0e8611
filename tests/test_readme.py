"""The README's library snippets run as written (against the bundled checkpoints)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_library_snippet_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Library use") :]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)  # the snippet writes grid.png to the working directory
    namespace = {}
    exec(snippet.replace('"checkpoints/', f'"{ROOT}/checkpoints/'), namespace)
    assert (tmp_path / "grid.png").is_file()
    assert namespace["walk"].shape == (16, namespace["generator"].config.latent_dim)


@pytest.mark.slow
def test_components_snippet_runs(capsys):
    """The components section's snippet, on the bundled toonfaces64 (finding and naming: about 11 s of one core)."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Directions nobody labelled") :]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(snippet.replace('"checkpoints/', f'"{ROOT}/checkpoints/'), namespace)
    assert namespace["images"].shape == (4, 3, 64, 64, 3)
    printed = capsys.readouterr().out
    # the figures the README quotes
    assert "PC1 · blond hair: +62% of faces" in printed and "SeFa 3 · hat: +64% of faces" in printed
    assert set(namespace["figures"]) == {"component", "random"}
