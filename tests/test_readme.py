"""The README's library snippet runs as written (against the bundled checkpoint)."""

import re
from pathlib import Path

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
