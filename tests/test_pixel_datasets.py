"""Fashion-MNIST, CIFAR-10 and Flowers 102 adapters read tiny copies in their distributed layouts, and say in
one line what is wrong with a copy that is damaged, incomplete or another release."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import socket
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
from genbench.trust.reference_identity import reference_identity

CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _write(path: Path, content: bytes, gzipped: bool = False, cut: int = 0) -> None:
    """``content`` (gzip-compressed when ``gzipped``, with ``.gz`` appended) less its last ``cut`` bytes."""
    if gzipped:
        path, content = path.with_name(path.name + ".gz"), gzip.compress(content, mtime=0)
    path.write_bytes(content[:len(content) - cut])


def write_fashion_mnist(root: Path, train: int = 6, test: int = 4, gzipped: bool = False, labels: int | None = None,
                        cut: int = 0) -> dict[str, np.ndarray]:
    """The four idx files torchvision's FashionMNIST reads, uncompressed or as distributed (``gzipped``); returns
    the images written. ``labels``: that many labels per split instead of one per image; ``cut``: bytes dropped
    from the end of each images file as written."""
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    for prefix, count in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        targets = (np.arange(count if labels is None else labels) % 10).astype(np.uint8)
        _write(raw / f"{prefix}-images-idx3-ubyte", struct.pack(">iiii", 2051, count, 28, 28) + images.tobytes(),
               gzipped, cut)
        _write(raw / f"{prefix}-labels-idx1-ubyte", struct.pack(">ii", 2049, len(targets)) + targets.tobytes(),
               gzipped)
        written[prefix] = images
    return written


def write_cifar10(root: Path, binary: bool = False, per_batch: int = 2, cut: int = 0) -> dict[str, np.ndarray]:
    """CIFAR-10's six batches of ``per_batch`` images in the python version's format (pickled dicts, plus
    ``batches.meta``), or in the binary version's (``binary``: records of 1 label byte + 3072 pixel bytes, ``cut``
    bytes dropped from the end of each). The same seed writes the same images and labels either way; returns
    each batch's ``[N, 3072]`` pixel rows."""
    folder = root / ("cifar-10-batches-bin" if binary else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    batches = {}
    for name in CIFAR_BATCHES:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = [(6 * i + 1) % 10 for i in range(per_batch)]
        if binary:
            _write(folder / f"{name}.bin", np.hstack([np.array(labels, dtype=np.uint8)[:, None], data]).tobytes(),
                   cut=cut)
        else:
            (folder / name).write_bytes(pickle.dumps({"data": data, "labels": labels}))
        batches[name] = data
    if binary:
        (folder / "batches.meta.txt").write_text("".join(f"class{i}\n" for i in range(10)), encoding="ascii")
    else:
        (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class{i}" for i in range(10)]}))
    return batches


def accept_cifar10_batches(monkeypatch, root: Path) -> None:
    """torchvision unpickles CIFAR batches only after their MD5 matches its list (the official files'): put the
    MD5s of the batches a test wrote in that list."""
    folder, cls = root / "cifar-10-batches-py", torchvision.datasets.CIFAR10
    monkeypatch.setattr(cls, "train_list", [[n, _md5(folder / n)] for n in CIFAR_BATCHES if n != "test_batch"])
    monkeypatch.setattr(cls, "test_list", [["test_batch", _md5(folder / "test_batch")]])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": _md5(folder / "batches.meta")})


def write_flowers102(root: Path, images: int = 10, labelled: int | None = None) -> Path:
    """``flowers-102/``: ``images`` jpgs whose centred square is (20 * id, 100, 30) and whose sides are white,
    ``imagelabels.mat`` (labels 1..n for the first ``labelled`` images, default all) and ``setid.mat`` (train 1-5,
    val 6-7, test 8-10). Returns the folder."""
    base = root / "flowers-102"
    (base / "jpg").mkdir(parents=True)
    for image_id in range(1, images + 1):
        picture = np.zeros((12, 24, 3), dtype=np.uint8)
        picture[:, :6] = picture[:, 18:] = (250, 250, 250)   # cropped away
        picture[:, 6:18] = (20 * image_id, 100, 30)          # the centred square
        Image.fromarray(picture).save(base / "jpg" / f"image_{image_id:05d}.jpg", quality=100, subsampling=0)
    scipy.io.savemat(base / "imagelabels.mat", {"labels": np.arange(1, (labelled or images) + 1)})
    scipy.io.savemat(base / "setid.mat", {"trnid": np.arange(1, 6), "valid": np.array([6, 7]),
                                          "tstid": np.array([8, 9, 10])})
    return base


def accept_flowers102_files(monkeypatch, base: Path) -> None:
    """Put the MD5s of the .mat files a test wrote in torchvision's list of the official ones."""
    cls = torchvision.datasets.Flowers102
    monkeypatch.setattr(cls, "_file_dict", {**cls._file_dict,
                                            "label": ("imagelabels.mat", _md5(base / "imagelabels.mat")),
                                            "setid": ("setid.mat", _md5(base / "setid.mat"))})


@pytest.fixture
def online(monkeypatch):
    """Downloads allowed, and any attempt at one fails at once (no name resolves)."""
    monkeypatch.delenv("GENBENCH_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)


def test_fashion_mnist_reads_the_idx_files(tmp_path):
    written = write_fashion_mnist(tmp_path)
    data = load_fashion_mnist(DataRequest("test", 28, 1, tmp_path))
    assert data.images.dtype == torch.uint8 and data.images.shape == (4, 1, 28, 28)
    assert torch.equal(data.images[:, 0], torch.from_numpy(written["t10k"]))
    assert data.labels.tolist() == [0, 1, 2, 3] and data.num_classes == 10
    rgb = load_fashion_mnist(DataRequest("train", 14, 3, tmp_path))
    assert rgb.images.shape == (6, 3, 14, 14) and torch.equal(rgb.images[:, 0], rgb.images[:, 2])


def test_fashion_mnist_as_distributed_is_read_from_the_gz_files_in_memory(tmp_path):
    write_fashion_mnist(tmp_path / "plain")
    written = write_fashion_mnist(tmp_path / "gz", gzipped=True)
    files = sorted(p.name for p in (tmp_path / "gz" / "FashionMNIST" / "raw").iterdir())
    data = load_fashion_mnist(DataRequest("test", 28, 1, tmp_path / "gz"))
    assert torch.equal(data.images[:, 0], torch.from_numpy(written["t10k"])) and data.labels.tolist() == [0, 1, 2, 3]
    assert sorted(p.name for p in (tmp_path / "gz" / "FashionMNIST" / "raw").iterdir()) == files  # nothing unzipped
    assert files == [f"{prefix}-{kind}-ubyte.gz" for prefix in ("t10k", "train") for kind in ("images-idx3",
                                                                                               "labels-idx1")]
    plain = load_fashion_mnist(DataRequest("test", 28, 1, tmp_path / "plain"))
    assert reference_identity(data)["sha256"] == reference_identity(plain)["sha256"]


def test_a_truncated_idx_file_says_what_its_header_declares(tmp_path):
    write_fashion_mnist(tmp_path, cut=100)
    raw = tmp_path / "FashionMNIST" / "raw"
    with pytest.raises(DataError) as error:
        load_fashion_mnist(DataRequest("test", 28, 1, tmp_path))
    assert str(error.value) == (
        f"{raw / 't10k-images-idx3-ubyte'}: truncated or damaged IDX file: its header declares 4 x 28 x 28 values "
        f"(3136 bytes after the header), the file holds 3036 (fetch it again from "
        f"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/)")


def test_a_truncated_gz_file_is_named(tmp_path):
    write_fashion_mnist(tmp_path, gzipped=True, cut=30)
    with pytest.raises(DataError, match=r"^.*/FashionMNIST/raw/t10k-images-idx3-ubyte\.gz: not a complete gzip "
                                        r"file \(EOFError: Compressed file ended before the end-of-stream marker was "
                                        r"reached\); fetch it again from http://fashion-mnist"):
        load_fashion_mnist(DataRequest("test", 28, 1, tmp_path))


def test_images_and_labels_that_disagree_in_count_are_refused_at_load(tmp_path):
    write_fashion_mnist(tmp_path, test=10, labels=6)
    raw = tmp_path / "FashionMNIST" / "raw"
    with pytest.raises(DataError) as error:
        load_fashion_mnist(DataRequest("test", 28, 1, tmp_path))
    assert str(error.value) == (f"{raw / 't10k-images-idx3-ubyte'} holds 10 images, {raw / 't10k-labels-idx1-ubyte'} "
                                f"6 labels: the two files are not of one copy of Fashion-MNIST")


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "not an IDX file of unsigned bytes with 3 dimensions (it starts with nothing, expected 00000803)"),
    (struct.pack(">ii", 2049, 4), "not an IDX file of unsigned bytes with 3 dimensions (it starts with 00000801, "
                                  "expected 00000803)"),
    (struct.pack(">iih", 2051, 4, 28), "truncated or damaged IDX file: its header ends after 10 of 16 bytes (fetch "
                                       "it again from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/)"),
])
def test_an_images_file_that_is_not_idx_is_named(tmp_path, content, problem):
    write_fashion_mnist(tmp_path)
    path = tmp_path / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        load_fashion_mnist(DataRequest("test", 28, 1, tmp_path))
    assert str(error.value) == f"{path}: {problem}"


def test_labels_outside_the_ten_classes_are_refused(tmp_path):
    write_fashion_mnist(tmp_path)
    labels = tmp_path / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1] + bytes([12]))
    with pytest.raises(DataError) as error:
        load_fashion_mnist(DataRequest("test", 28, 1, tmp_path))
    assert str(error.value) == f"{labels}: label 12 at index 3; Fashion-MNIST's classes are 0 to 9"
    write_cifar10(tmp_path / "cifar", binary=True)
    batch = tmp_path / "cifar" / "cifar-10-batches-bin" / "test_batch.bin"
    batch.write_bytes(bytes([10]) + batch.read_bytes()[1:])
    with pytest.raises(DataError) as error:
        load_cifar10(DataRequest("test", 32, 3, tmp_path / "cifar"))
    assert str(error.value) == (f"{batch}: record 0 has label 10; CIFAR-10's classes are 0 to 9 (the binary version "
                                f"of another data set, such as CIFAR-100?)")


def test_missing_data_offline_is_one_line_naming_layout_and_source(tmp_path):
    with pytest.raises(DataError) as error:
        load_fashion_mnist(DataRequest("train", 28, 1, tmp_path / "nothing"))
    assert str(error.value) == (
        f"Fashion-MNIST not found or incomplete under {tmp_path / 'nothing'} (downloads are off); expected "
        f"{tmp_path / 'nothing'}/FashionMNIST/raw/{{train,t10k}}-{{images-idx3,labels-idx1}}-ubyte[.gz], downloaded "
        "from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ (pass the root with --data-dir or "
        "$GENBENCH_DATA)")
    with pytest.raises(DataError, match=r"^fmnist has splits 'train' and 'test', not 'val'$"):
        load_fashion_mnist(DataRequest("val", 28, 1, tmp_path))


def test_without_a_data_dir_offline_the_cache_is_the_root(tmp_path):
    with pytest.raises(DataError, match=r"^CIFAR-10 not found or incomplete under .*cache/data \(downloads are off\)"):
        load_cifar10(DataRequest("train", 32, 3))


@pytest.mark.parametrize("load", [load_fashion_mnist, load_cifar10, load_flowers102])
def test_a_data_dir_is_read_never_written_even_online(load, online, tmp_path):
    missing = tmp_path / "data"
    with pytest.raises(DataError, match=r"not found or incomplete under .*/data \(--data-dir is only read, never "
                                        r"downloaded into\)"):
        load(DataRequest("train", 32, 3, missing))
    assert not missing.exists()


def test_cifar10_reads_md5_checked_batches(tmp_path, monkeypatch):
    batches = write_cifar10(tmp_path)
    accept_cifar10_batches(monkeypatch, tmp_path)
    train = load_cifar10(DataRequest("train", 32, 3, tmp_path))
    assert train.images.shape == (10, 3, 32, 32) and train.labels.tolist() == [1, 7] * 5
    assert torch.equal(train.images[0], torch.from_numpy(batches["data_batch_1"][0].reshape(3, 32, 32)))


def test_a_cifar10_batch_that_fails_its_checksum_is_named(tmp_path, monkeypatch):
    write_cifar10(tmp_path)
    accept_cifar10_batches(monkeypatch, tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    expected = _md5(folder / "data_batch_3")
    (folder / "data_batch_3").write_bytes(b"tampered")
    with pytest.raises(DataError) as error:
        load_cifar10(DataRequest("train", 32, 3, tmp_path))
    assert str(error.value) == (
        f"{folder / 'data_batch_3'}: MD5 {hashlib.md5(b'tampered').hexdigest()} is not the official CIFAR-10 "
        f"release's {expected}: another release or a damaged download (fetch it again from "
        f"https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz)")


def test_cifar10_binary_version_reads_as_the_python_version(tmp_path, monkeypatch):
    batches = write_cifar10(tmp_path / "py")
    accept_cifar10_batches(monkeypatch, tmp_path / "py")
    assert write_cifar10(tmp_path / "bin", binary=True).keys() == batches.keys()
    for split, count in (("train", 10), ("test", 2)):
        binary = load_cifar10(DataRequest(split, 32, 3, tmp_path / "bin"))
        python = load_cifar10(DataRequest(split, 32, 3, tmp_path / "py"))
        assert binary.images.shape == (count, 3, 32, 32) and binary.labels.tolist() == [1, 7] * (count // 2)
        assert reference_identity(binary) == reference_identity(python)
    test = load_cifar10(DataRequest("test", 32, 3, tmp_path / "bin"))
    assert torch.equal(test.images[1], torch.from_numpy(batches["test_batch"][1].reshape(3, 32, 32)))


def test_a_damaged_cifar10_binary_batch_is_named(tmp_path):
    write_cifar10(tmp_path, binary=True, cut=5)
    with pytest.raises(DataError) as error:
        load_cifar10(DataRequest("test", 32, 3, tmp_path))
    assert str(error.value) == (
        f"{tmp_path / 'cifar-10-batches-bin' / 'test_batch.bin'}: 6141 bytes are not a whole number of 3073-byte "
        f"records (1 label byte + 3072 pixel bytes): truncated or damaged (fetch it again from "
        f"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz)")


def test_without_cifar10_the_error_names_both_versions(tmp_path):
    with pytest.raises(DataError) as error:
        load_cifar10(DataRequest("train", 32, 3, tmp_path))
    assert str(error.value) == (
        f"CIFAR-10 not found or incomplete under {tmp_path} (downloads are off); expected {tmp_path}/"
        f"cifar-10-batches-py/{{data_batch_1..5,test_batch,batches.meta}} (the official files, MD5-checked) or "
        f"{tmp_path}/cifar-10-batches-bin/{{data_batch_1..5,test_batch}}.bin, downloaded from "
        f"https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (pass the root with --data-dir or $GENBENCH_DATA)")


def test_flowers102_centre_crops_and_keras_split(tmp_path, monkeypatch):
    accept_flowers102_files(monkeypatch, write_flowers102(tmp_path))
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


def test_a_damaged_flowers_jpeg_is_named_and_counted_against_the_budget(tmp_path, monkeypatch):
    base = write_flowers102(tmp_path)
    accept_flowers102_files(monkeypatch, base)
    intact = load_flowers102(DataRequest("train", 8, 3, tmp_path))
    damaged = base / "jpg" / "image_00003.jpg"
    damaged.write_bytes(damaged.read_bytes()[:-60])
    with pytest.raises(DataError) as error:
        load_flowers102(DataRequest("train", 8, 3, tmp_path))
    assert str(error.value) == (f"{base / 'jpg'}: 1 of 5 images failed to decode (e.g. image_00003.jpg), more than "
                                f"the protocol's max_bad_image_share 0.01")
    data = load_flowers102(DataRequest("train", 8, 3, tmp_path, options={"max_bad_image_share": 0.2}))
    assert data.labels.tolist() == [0, 1, 3, 4] and torch.equal(data.images, intact.images[[0, 1, 3, 4]])
    assert (data.info["images_failed_to_decode"], data.info["failed_files"]) == (1, ["image_00003.jpg"])
    assert data.identity_source == {"skipped_files": ["image_00003.jpg"]}


def test_a_flowers_file_that_fails_its_checksum_is_named(tmp_path):
    base = write_flowers102(tmp_path)
    with pytest.raises(DataError) as error:
        load_flowers102(DataRequest("train", 8, 3, tmp_path))
    assert str(error.value) == (
        f"{base / 'imagelabels.mat'}: MD5 {_md5(base / 'imagelabels.mat')} is not the official Oxford Flowers 102 "
        f"release's e0620be6f572b9609742df49c70aed4d: another release or a damaged download (fetch it again from "
        f"https://www.robots.ox.ac.uk/~vgg/data/flowers/102/)")


def test_flowers_images_without_a_label_are_refused_at_load(tmp_path, monkeypatch):
    base = write_flowers102(tmp_path, labelled=8)
    accept_flowers102_files(monkeypatch, base)
    with pytest.raises(DataError) as error:
        load_flowers102(DataRequest("test", 8, 3, tmp_path))
    assert str(error.value) == (f"{base / 'setid.mat'} names image 9 in 'tstid', {base / 'imagelabels.mat'} has "
                                f"labels for images 1 to 8 only: the two files are not of one copy of Flowers 102")
