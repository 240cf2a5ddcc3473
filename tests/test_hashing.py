"""Identities: a directory's tree hash (a diffusers pipeline as --checkpoint) and a checkpoint's SHA-256."""

from __future__ import annotations

import hashlib

from genbench.trust.hashing import checkpoint_sha256, sha256_file, sha256_tree


def write_tree(root, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)


def test_a_tree_hash_is_the_sorted_paths_and_contents(tmp_path):
    files = {"unet/config.json": b"{}", "model_index.json": b'{"a": 1}', "unet/w.safetensors": b"\x00\x01"}
    write_tree(tmp_path / "pipe", files)
    expected = hashlib.sha256()
    for relative in sorted(files):
        expected.update(f"{relative}\0{hashlib.sha256(files[relative]).hexdigest()}\n".encode())
    assert sha256_tree(tmp_path / "pipe") == expected.hexdigest()
    write_tree(tmp_path / "pipe", {".cache/huggingface/lock": b"x", "unet/.DS_Store": b"y"})  # bookkeeping only
    assert sha256_tree(tmp_path / "pipe") == expected.hexdigest() == checkpoint_sha256(tmp_path / "pipe")


def test_any_changed_renamed_or_added_file_changes_the_tree_hash(tmp_path):
    base = {"model_index.json": b"{}", "unet/w.safetensors": b"\x00\x01"}
    variants = [base, {**base, "unet/w.safetensors": b"\x00\x02"}, {**base, "scheduler/config.json": b"{}"},
                {"model_index.json": b"{}", "vae/w.safetensors": b"\x00\x01"}]
    hashes = set()
    for i, files in enumerate(variants):
        write_tree(tmp_path / str(i), files)
        hashes.add(sha256_tree(tmp_path / str(i)))
    assert len(hashes) == len(variants)


def test_a_checkpoint_is_a_file_a_tree_or_nothing_on_disk(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    assert checkpoint_sha256(tmp_path / "model.safetensors") == sha256_file(tmp_path / "model.safetensors")
    assert checkpoint_sha256(tmp_path / "google" / "ddpm-cifar10-32") is None  # a hub name
    assert checkpoint_sha256(None) is None
