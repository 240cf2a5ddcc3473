"""Fashion-MNIST, CIFAR-10 and Flowers 102 adapters read tiny copies in torchvision's on-disk layout."""

from __future__ import annotations

import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
import torchvision
from PIL import Image

from genbench.datasets.base import DataRequest
from genbench.datasets.cifar10 import load_cifar10
from genbench.datasets.fashion_mnist import load_fashion_mnist
from genbench.datasets.flowers102 import load_flowers102
from genbench.errors import DataError


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_fashion_mnist(root: Path, train: int = 6, test: int = 4) -> dict[str, np.ndarray]:
    """The four uncompressed idx files torchvision's FashionMNIST reads; returns the images written."""
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    for prefix, count in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = (np.arange(count) % 10).astype(np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">iiii", 2051, count, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 2049, count) + labels.tobytes())
        written[prefix] = images
    return written


def test_fashion_mnist_reads_the_idx_files(tmp_path):
    written = write_fashion_mnist(tmp_path)
    data = load_fashion_mnist(DataRequest("test", 28, 1, tmp_path))
    assert data.images.dtype == torch.uint8 and data.images.shape == (4, 1, 28, 28)
    assert torch.equal(data.images[:, 0], torch.from_numpy(written["t10k"]))
    assert data.labels.tolist() == [0, 1, 2, 3] and data.num_classes == 10
    rgb = load_fashion_mnist(DataRequest("train", 14, 3, tmp_path))
    assert rgb.images.shape == (6, 3, 14, 14) and torch.equal(rgb.images[:, 0], rgb.images[:, 2])


def test_missing_data_offline_is_one_line_naming_layout_and_source(tmp_path):
    with pytest.raises(DataError) as error:
        load_fashion_mnist(DataRequest("train", 28, 1, tmp_path / "nothing"))
    assert str(error.value) == (
        f"Fashion-MNIST not found or incomplete under {tmp_path / 'nothing'} (downloads are off); expected "
        f"{tmp_path / 'nothing'}/FashionMNIST/raw/{{train,t10k}}-{{images-idx3,labels-idx1}}-ubyte, downloaded from "
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ (pass the root with --data-dir or $GENBENCH_DATA)")
    with pytest.raises(DataError, match=r"^fmnist has splits 'train' and 'test', not 'val'$"):
        load_fashion_mnist(DataRequest("val", 28, 1, tmp_path))


def test_without_a_data_dir_offline_the_cache_is_the_root(tmp_path):
    with pytest.raises(DataError, match=r"^CIFAR-10 not found or incomplete under .*cache/data \(downloads are off\)"):
        load_cifar10(DataRequest("train", 32, 3))


def test_cifar10_reads_md5_checked_batches(tmp_path, monkeypatch):
    """torchvision unpickles CIFAR batches only after their MD5 matches its list: the test writes
    batches in that format and puts their MD5s in the list (the real list holds the official ones)."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(2, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": data, "labels": [1, 7]}, handle)
        batches[name] = data
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, handle)
    cls = torchvision.datasets.CIFAR10
    monkeypatch.setattr(cls, "train_list", [[n, _md5(folder / n)] for n in batches if n != "test_batch"])
    monkeypatch.setattr(cls, "test_list", [["test_batch", _md5(folder / "test_batch")]])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": _md5(folder / "batches.meta")})

    train = load_cifar10(DataRequest("train", 32, 3, tmp_path))
    assert train.images.shape == (10, 3, 32, 32) and train.labels.tolist() == [1, 7] * 5
    expected = torch.from_numpy(batches["data_batch_1"][0].reshape(3, 32, 32))
    assert torch.equal(train.images[0], expected)
    (folder / "data_batch_3").write_bytes(b"tampered")
    with pytest.raises(DataError, match=r"^CIFAR-10 not found or incomplete under .* \(downloads are off\); expected "):
        load_cifar10(DataRequest("train", 32, 3, tmp_path))


def test_flowers102_centre_crops_and_keras_split(tmp_path, monkeypatch):
    base = tmp_path / "flowers-102"
    (base / "jpg").mkdir(parents=True)
    for image_id in range(1, 11):
        picture = np.zeros((12, 24, 3), dtype=np.uint8)
        picture[:, :6] = picture[:, 18:] = (250, 250, 250)   # cropped away
        picture[:, 6:18] = (20 * image_id, 100, 30)          # the centred square
        Image.fromarray(picture).save(base / "jpg" / f"image_{image_id:05d}.jpg", quality=100, subsampling=0)
    scipy.io.savemat(base / "imagelabels.mat", {"labels": np.arange(1, 11)})
    scipy.io.savemat(base / "setid.mat", {"trnid": np.arange(1, 6), "valid": np.array([6, 7]),
                                          "tstid": np.array([8, 9, 10])})
    cls = torchvision.datasets.Flowers102
    monkeypatch.setattr(cls, "_file_dict", {**cls._file_dict,
                                            "label": ("imagelabels.mat", _md5(base / "imagelabels.mat")),
                                            "setid": ("setid.mat", _md5(base / "setid.mat"))})

    train = load_flowers102(DataRequest("train", 8, 3, tmp_path))
    assert train.images.shape == (5, 3, 8, 8) and train.labels.tolist() == [0, 1, 2, 3, 4]
    means = train.images.double().mean(dim=(2, 3))
    assert means[:, 0].tolist() == pytest.approx([20, 40, 60, 80, 100], abs=3)
    assert means[:, 1].tolist() == pytest.approx([100] * 5, abs=3)
    keras_train = load_flowers102(DataRequest("keras-train", 8, 3, tmp_path))
    keras_val = load_flowers102(DataRequest("keras-val", 8, 3, tmp_path))
    # 80 % of each official split in order: train 4 of 5, val 2 of 2 (round(1.6)), test 2 of 3
    assert keras_train.labels.tolist() == [0, 1, 2, 3, 5, 6, 7, 8]
    assert keras_val.labels.tolist() == [4, 9]
    with pytest.raises(DataError, match=r"^flowers102 has splits train, val, test, keras-train, keras-val, not 'all'$"):
        load_flowers102(DataRequest("all", 8, 3, tmp_path))
