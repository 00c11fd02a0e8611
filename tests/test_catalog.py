"""ganlib.catalog: checkpoints named by id, and uploads that are checked, capped and never left half-written."""

from __future__ import annotations

import os
import time

import pytest

from ganlib import catalog
from ganlib.catalog import Catalog
from ganlib.checkpoint import CheckpointError, load_generator


@pytest.fixture
def shelves(tmp_path, tiny_checkpoint):
    bundled, runs, uploads = tmp_path / "checkpoints", tmp_path / "runs", tmp_path / "uploads"
    bundled.mkdir()
    (bundled / "b.safetensors").write_bytes(tiny_checkpoint.read_bytes())
    (bundled / "a.safetensors").write_bytes(tiny_checkpoint.read_bytes())
    (runs / "faces").mkdir(parents=True)
    (runs / "faces" / "generator.safetensors").write_bytes(tiny_checkpoint.read_bytes())
    return Catalog(bundled, runs, uploads, preferred=("b.safetensors",))


def test_entries_have_ids_and_the_preferred_file_comes_first(shelves):
    assert [e.id for e in shelves.entries()] == ["bundled/b", "bundled/a", "run/faces"]
    assert shelves.find("run/faces").path.name == "generator.safetensors"


@pytest.mark.parametrize(
    "hostile",
    [
        "/etc/shadow",
        "/etc/hostname",
        "../../etc/passwd",
        "bundled/../../x",
        "checkpoints/a.safetensors",
        "",
        "bundled/missing",
    ],
)
def test_unknown_ids_get_the_same_answer_whatever_exists_on_disk(shelves, hostile):
    assert shelves.find(hostile) is None


def test_a_good_upload_is_kept_and_listed(shelves, tiny_checkpoint):
    entry = shelves.add_upload("my model.safetensors", tiny_checkpoint.read_bytes(), load_generator)
    assert entry.id.startswith("upload/") and entry.label == "upload: my_model.safetensors"
    assert shelves.find(entry.id) == entry
    assert [p.name for p in (shelves.uploads_dir / catalog.INCOMING).iterdir()] == []


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("model.pt", b"PK\x03\x04", "only .safetensors files"),
        ("model", b"x", "only .safetensors files"),
        ("junk.safetensors", b"\x89PNG not a checkpoint", "not a safetensors file"),
    ],
)
def test_a_refused_upload_leaves_nothing_behind(shelves, name, data, words):
    with pytest.raises(CheckpointError, match=words):
        shelves.add_upload(name, data, load_generator)
    left = [p for p in shelves.uploads_dir.rglob("*") if p.is_file()] if shelves.uploads_dir.exists() else []
    assert left == []


def test_oversized_uploads_are_refused_before_writing(shelves, monkeypatch):
    monkeypatch.setattr(catalog, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(CheckpointError, match="upload limit"):
        shelves.add_upload("big.safetensors", b"x" * 101, load_generator)


def test_the_quota_evicts_the_oldest(shelves, tiny_config, monkeypatch):
    import ganlib

    monkeypatch.setattr(catalog, "MAX_UPLOADS", 3)
    kept = []
    for index in range(5):
        path = shelves.uploads_dir.parent / f"m{index}.safetensors"
        ganlib.save_generator(path, ganlib.Generator(tiny_config), {"notes": str(index)})  # distinct bytes
        kept.append(shelves.add_upload(path.name, path.read_bytes(), load_generator))
        os.utime(kept[-1].path, (time.time() - 100 + index, time.time() - 100 + index))
    listed = {e.id for e in shelves.entries() if e.kind == "upload"}
    assert listed == {e.id for e in kept[2:]}


def test_stale_incoming_files_are_cleared(shelves, tiny_checkpoint):
    incoming = shelves.uploads_dir / catalog.INCOMING
    incoming.mkdir(parents=True)
    stale = incoming / "abc-1-2.safetensors"
    stale.write_bytes(b"left by a killed server")
    os.utime(stale, (0, 0))
    shelves.add_upload("m.safetensors", tiny_checkpoint.read_bytes(), load_generator)
    assert not stale.exists()


def test_links_planted_in_a_listed_folder_are_not_offered(shelves, tmp_path):
    (shelves.checkpoints_dir / "evil.safetensors").symlink_to("/etc/hostname")
    assert shelves.find("bundled/evil") is None


@pytest.mark.parametrize("failing", ["write_bytes", "mkdir", "replace"])
def test_a_full_disk_refuses_the_upload_in_one_line_and_keeps_nothing(shelves, tiny_checkpoint, monkeypatch, failing):
    """Issue 20 E: a full disk raised "[Errno 28] No space left on device" out of the sidebar's upload."""
    import errno
    from pathlib import Path

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if failing == "replace":
        monkeypatch.setattr(catalog.os, "replace", full)
    else:
        monkeypatch.setattr(Path, failing, full)
    with pytest.raises(CheckpointError) as refused:
        shelves.add_upload("mine.safetensors", tiny_checkpoint.read_bytes(), load_generator)
    assert str(refused.value) == "mine.safetensors: could not be kept on this server (No space left on device)"
    monkeypatch.undo()
    left = [p for p in shelves.uploads_dir.rglob("*") if p.is_file()] if shelves.uploads_dir.exists() else []
    assert left == [] and [e for e in shelves.entries() if e.kind == "upload"] == []
