"""`genbench score` on samples made elsewhere with their own conditions: guided-diffusion / DiT ``arr_0``/``arr_1``
batches on a class-conditional protocol, and a folder with a JSONL captions file on a text-to-image protocol."""

from __future__ import annotations

import io
import json
import random
import zipfile

import numpy as np
import pytest

from genbench.cli import main
from genbench.datasets.base import DataRequest
from genbench.datasets.digits import load_digits_split
from genbench.datasets.shapes import load_shapes_split
from genbench.errors import DataError
from genbench.evaluation.samples import load_captions, load_samples
from genbench.storage.images import save_images
from genbench.storage.results import read_result

DIGITS = load_digits_split(DataRequest("all", 16, 1))


def score(tmp_path, capsys, samples, *args: str, name: str = "r", protocol: str = "digits-classes") -> dict:
    results = tmp_path / name
    code = main(["score", "--protocol", protocol, "--samples", str(samples), "--results-dir", str(results),
                 "--cache-dir", str(tmp_path / "cache"), "--device", "cpu", "--quiet", *args])
    assert code == 0, capsys.readouterr().err
    return read_result(next(results.glob("*.json")))


def test_a_batch_with_its_classes_is_scored_with_those_classes_not_the_plan(tmp_path, capsys):
    """The reference set itself as an arr_0/arr_1 batch: at distance zero, its classes recognised; the same images
    with every class shifted by one are at a large intra-class distance and almost never recognised."""
    images = DIGITS.images.permute(0, 2, 3, 1).numpy()
    labels = DIGITS.labels.numpy().astype(np.int32)
    np.savez(tmp_path / "batch.npz", images, labels)
    record = score(tmp_path, capsys, tmp_path / "batch.npz")
    metrics = record["metrics"]
    assert metrics["fd"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["intra_fd"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["class_accuracy"]["value"] > 0.99  # the classifier's accuracy on these very images
    assert record["samples"]["labels"]["source"] == f"arr_1 of {tmp_path / 'batch.npz'}"
    assert record["samples"]["labels"]["per_class"] == np.bincount(labels).tolist()
    assert record["samples"]["num_samples"] == 1797  # not a multiple of 10: no plan is involved

    np.savez(tmp_path / "shifted.npz", arr_0=images, arr_1=(labels + 1) % 10)
    shifted = score(tmp_path, capsys, tmp_path / "shifted.npz", name="shifted")["metrics"]
    assert shifted["class_accuracy"]["value"] < 0.05 and shifted["intra_fd"]["value"] > 10
    assert shifted["fd"]["value"] == pytest.approx(0.0, abs=1e-6)  # FD over all samples ignores the classes


def test_a_class_with_too_few_samples_is_refused_before_any_feature_is_extracted(tmp_path, capsys):
    keep = np.flatnonzero((DIGITS.labels.numpy() != 7) | (np.arange(len(DIGITS)) % 4 == 0))  # 7s cut to a quarter
    np.savez(tmp_path / "few.npz", DIGITS.images[keep].permute(0, 2, 3, 1).numpy(), DIGITS.labels[keep].numpy())
    assert main(["score", "--protocol", "digits-classes", "--samples", str(tmp_path / "few.npz"), "--results-dir",
                 str(tmp_path / "r"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"genbench: error: protocol 'digits-classes', metric 'intra_fd': intra_fd, class 7: generated set has "
        f"{int((DIGITS.labels[keep] == 7).sum())} samples, needs at least 65 (a full-rank covariance of 64-d features needs more samples than dimensions) "
        "(checked before any work)")
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").glob("*.json"))


def test_a_folder_is_refused_on_a_class_conditional_protocol(tmp_path, capsys):
    save_images(DIGITS.images[:20], tmp_path / "folder")
    assert main(["score", "--protocol", "digits-classes", "--samples", str(tmp_path / "folder"), "--results-dir",
                 str(tmp_path / "r"), "--quiet"]) == 2
    assert "is class-conditional: score it on an .npz whose 'arr_1' holds each image's class" in capsys.readouterr().err


def test_a_folder_with_jsonl_captions_scores_as_the_same_images_with_captions_in_order(tmp_path, capsys):
    shapes = load_shapes_split(DataRequest("test", 32, 3, options={"test_size": 200}))
    save_images(shapes.images, tmp_path / "folder")
    lines = [json.dumps({"file": f"{i:06d}.png", "caption": caption}) for i, caption in enumerate(shapes.captions)]
    random.Random(0).shuffle(lines)
    (tmp_path / "captions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "captions.txt").write_text("\n".join(shapes.captions) + "\n", encoding="utf-8")
    np.savez(tmp_path / "same.npz", shapes.images.permute(0, 2, 3, 1).numpy())
    by_file = score(tmp_path, capsys, tmp_path / "folder", "--captions", str(tmp_path / "captions.jsonl"),
                    protocol="shapes")
    in_order = score(tmp_path, capsys, tmp_path / "same.npz", "--captions", str(tmp_path / "captions.txt"),
                     protocol="shapes", name="in-order")
    assert by_file["metrics"]["clip_score"]["value"] == in_order["metrics"]["clip_score"]["value"]
    assert by_file["metrics"]["diversity"]["value"] == in_order["metrics"]["diversity"]["value"]
    assert by_file["samples"]["captions_file"] == str(tmp_path / "captions.jsonl")
    wrong = [json.dumps({"file": f"{i:06d}.png", "caption": shapes.captions[(i + 1) % 200]}) for i in range(200)]
    (tmp_path / "wrong.jsonl").write_text("\n".join(wrong), encoding="utf-8")
    shuffled = score(tmp_path, capsys, tmp_path / "folder", "--captions", str(tmp_path / "wrong.jsonl"),
                     protocol="shapes", name="wrong")
    assert shuffled["metrics"]["clip_score"]["value"] < in_order["metrics"]["clip_score"]["value"]


@pytest.mark.parametrize("lines, message", [
    (['{"file": "a.png", "caption": "x"}', '{"file": "sub/a.png", "caption": "y"}'], "line 2: 'a.png' has a caption"),
    (['{"file": "c.png", "caption": "x"}'], "line 1: 'c.png' is not an image of the samples folder"),
    (['{"file": "a.png", "caption": "x"}'], "has no caption for b.png; give every image one"),
    (['{"file": "a.png"}'], "line 1: expected an object with text fields 'file' and 'caption'"),
    (['{"file": "a.png", caption: 1}'], "line 1: not JSON"),
])
def test_a_jsonl_captions_file_names_every_image_once(tmp_path, lines, message):
    (tmp_path / "c.jsonl").write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_captions(tmp_path / "c.jsonl", 2, ["a.png", "b.png"])
    with pytest.raises(DataError, match="names image files .* it needs a samples folder, not an .npz"):
        load_captions(tmp_path / "c.jsonl", 2, None)


def forged_npz(path, header: dict, data: bytes) -> None:
    """An .npz whose arr_0 declares ``header`` (shape, dtype) but holds ``data``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"fortran_order": False, **header})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("arr_0.npy", buffer.getvalue() + data)


def test_npz_headers_are_checked_before_the_data_is_read(tmp_path):
    forged_npz(tmp_path / "huge.npz", {"descr": "|u1", "shape": (10 ** 7, 256, 256, 3)}, bytes(100))
    with pytest.raises(DataError, match=r"declares uint8 of shape \(10000000, 256, 256, 3\) \(1966080000000 bytes\) "
                                        r"but holds 100 bytes"):
        load_samples(tmp_path / "huge.npz")
    np.savez(tmp_path / "objects.npz", np.array([{"a": 1}] * 3, dtype=object))  # a pickle inside
    with pytest.raises(DataError, match="'arr_0' is object of shape"):
        load_samples(tmp_path / "objects.npz")
    np.savez(tmp_path / "named.npz", images=np.zeros((2, 4, 4, 3), np.uint8), labels=np.zeros(2, np.int64))
    with pytest.raises(DataError, match="holds arrays images, labels; genbench reads 'arr_0'"):
        load_samples(tmp_path / "named.npz")
    np.savez(tmp_path / "bools.npz", np.zeros((2, 4, 4, 3), np.uint8), np.zeros(2, bool))
    with pytest.raises(DataError, match="'arr_1' is bool of shape"):
        load_samples(tmp_path / "bools.npz")
    np.savez_compressed(tmp_path / "ok.npz", np.ones((2, 4, 4, 3), np.uint8), np.array([3, 1], np.uint16))
    samples = load_samples(tmp_path / "ok.npz")
    assert samples.labels == [3, 1] and tuple(samples.images.shape) == (2, 3, 4, 4) and samples.files is None
