"""`genbench score` on samples made elsewhere with their own conditions: guided-diffusion / DiT ``arr_0``/``arr_1``
batches on a class-conditional protocol, and a folder with a JSONL captions file on a text-to-image protocol."""

from __future__ import annotations

import io
import json
import random
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from genbench.cli import main
from genbench.datasets.base import DataRequest
from genbench.datasets.digits import load_digits_split
from genbench.datasets.shapes import load_shapes_split
from genbench.errors import DataError
from genbench.evaluation.options import ScoreOptions
from genbench.evaluation.samples import load_captions, load_samples
from genbench.evaluation.score import score_samples
from genbench.storage.images import ONE_BIT_RULE, OPAQUE_ALPHA_RULE, SIXTEEN_BIT_RULE, save_images
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


def test_grey_images_score_the_same_from_an_npz_batch_and_from_a_folder(tmp_path, capsys):
    """An [N, H, W, 1] array seen as [N, 1, H, W] has channels-last strides, and the classifier's convolution rounds
    differently on those; the feature pass gives every extractor standard strides, so the numbers are equal."""
    images = DIGITS.images[:400]
    np.savez(tmp_path / "batch.npz", arr_0=images.permute(0, 2, 3, 1).numpy())
    save_images(images, tmp_path / "folder")
    settings = ["--set", "protocol.sampling.num_samples=400"]
    from_batch = score(tmp_path, capsys, tmp_path / "batch.npz", *settings, name="batch", protocol="digits")
    from_folder = score(tmp_path, capsys, tmp_path / "folder", *settings, name="folder", protocol="digits")
    assert from_batch["samples"]["sha256"] == from_folder["samples"]["sha256"]
    for key, metric in from_folder["metrics"].items():
        assert from_batch["metrics"][key]["value"] == metric["value"], key


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


def test_a_folder_is_refused_where_a_metric_reads_classes_and_scored_where_none_does(tmp_path, capsys):
    save_images(DIGITS.images[:200], tmp_path / "folder")
    assert main(["score", "--protocol", "digits-classes", "--samples", str(tmp_path / "folder"), "--results-dir",
                 str(tmp_path / "r"), "--quiet"]) == 2
    assert ("is class-conditional and its intra_fd, class_accuracy read each image's class: score it on an .npz "
            "whose 'arr_1' holds them") in capsys.readouterr().err
    record = score(tmp_path, capsys, tmp_path / "folder", "--drop-metrics", "intra_fd,class_accuracy", "--set",
                   "protocol.sampling.num_samples=200", name="without")  # as the ADM evaluator: no classes read
    assert record["samples"]["labels"] is None and record["metrics"]["fd"]["value"] > 0


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


def test_npz_headers_are_checked_before_the_data_is_read(tmp_path, monkeypatch):
    forged_npz(tmp_path / "huge.npz", {"descr": "|u1", "shape": (10 ** 7, 256, 256, 3)}, bytes(100))
    with pytest.raises(DataError, match=r"member 'arr_0.npy' declares 1966080000000 bytes of uint8 "
                                        r"\[10000000, 256, 256, 3\] but holds 100 \(a truncated or altered file\)"):
        load_samples(tmp_path / "huge.npz")
    np.savez(tmp_path / "objects.npz", np.array([{"a": 1}] * 3, dtype=object))  # a pickle inside
    with pytest.raises(DataError, match="member 'arr_0.npy' holds Python objects"):
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
    monkeypatch.setattr("genbench.evaluation.samples.machine_memory", lambda: 150)  # a small file inflating to more
    with pytest.raises(DataError, match=r"array 'arr_0' declares 96 bytes of images \(2, 4, 4, 3\), more than half "
                                        r"this machine's memory \(150 bytes\); score the samples in parts"):
        load_samples(tmp_path / "ok.npz")


def test_files_that_are_not_npz_archives_say_what_they_are(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(DataError, match="empty.npz is empty \\(0 bytes\\): a failed or unfinished write"):
        load_samples(tmp_path / "empty.npz")
    np.save(tmp_path / "single.npy", np.zeros((2, 4, 4, 3), np.uint8))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    with pytest.raises(DataError, match=r"single.npz is a single .npy array \(np.save\), not an .npz archive "
                                        r"\(np.savez\): save it with np.savez\('single.npz', arr_0=array\)"):
        load_samples(tmp_path / "single.npz")
    np.savez(tmp_path / "whole.npz", np.zeros((50, 16, 16, 1), np.uint8))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "whole.npz").read_bytes()[:6000])
    with pytest.raises(DataError, match="cut.npz is not a readable .npz archive .*: a truncated or altered file"):
        load_samples(tmp_path / "cut.npz")


def test_score_uses_the_thread_count_it_is_given(tmp_path, monkeypatch):
    """As ``genbench.run`` and ``reference_row`` do, called from Python as well as from the command line."""
    monkeypatch.delenv("GENBENCH_THREADS", raising=False)
    before = torch.get_num_threads()
    np.savez(tmp_path / "batch.npz", arr_0=DIGITS.images[:200].permute(0, 2, 3, 1).numpy())
    try:
        torch.set_num_threads(2)
        record = score_samples(ScoreOptions(protocol="digits", samples=tmp_path / "batch.npz", threads=1, quiet=True,
                                            results_dir=tmp_path / "r", settings={"protocol.sampling.num_samples": 200}))
        assert record["environment"]["threads"] == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_image_files_of_other_modes_become_8_bit_by_a_recorded_rule(tmp_path, capsys):
    """16-bit grey is scaled (PIL's own conversion clips every value above 255 to white), 1-bit is 0 and 255, an
    opaque alpha channel is dropped; the rules applied are recorded with the result."""
    grey = DIGITS.images[:200, 0].numpy()
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i, image in enumerate(grey):
        if i % 3 == 0:
            picture = Image.fromarray(image.astype(np.uint16) * 257)  # I;16, the same values in 16 bits
        elif i % 3 == 1:
            picture = Image.fromarray(np.stack([image, np.full_like(image, 255)], axis=-1), mode="LA")
        else:
            picture = Image.fromarray(image)
        picture.save(folder / f"{i:06d}.png")
    Image.fromarray(grey[1] > 127).save(folder / f"{1:06d}.png")  # 1-bit
    samples = load_samples(folder)
    expected = torch.from_numpy(grey.copy())[:, None]
    expected[1, 0] = torch.from_numpy((grey[1] > 127).astype(np.uint8) * 255)
    assert torch.equal(samples.images, expected)
    assert samples.decoding == sorted([ONE_BIT_RULE, OPAQUE_ALPHA_RULE, SIXTEEN_BIT_RULE])
    record = score(tmp_path, capsys, folder, "--set", "protocol.sampling.num_samples=200", protocol="digits")
    assert record["samples"]["decoding"] == samples.decoding


@pytest.mark.parametrize("picture, message", [
    (Image.new("LA", (16, 16), (0, 0)), "0.png has transparent pixels; genbench does not guess a background"),
    (Image.new("RGBA", (16, 16), (0, 0, 0, 10)), "0.png has transparent pixels"),
    (Image.new("L", (20000, 20000)), "0.png is refused as a decompression bomb (Image size (400000000 pixels)"),
])
def test_image_files_genbench_cannot_read_faithfully_are_refused_naming_the_file(tmp_path, picture, message):
    (tmp_path / "s").mkdir()
    picture.save(tmp_path / "s" / "0.png")
    with pytest.raises(DataError) as error:
        load_samples(tmp_path / "s")
    assert str(error.value).startswith(f"samples folder {tmp_path / 's'}: ") and message in str(error.value)
