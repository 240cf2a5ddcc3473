"""Statistics files read without trusting them: npz headers checked before data, EDM2 pickles through an allow-list
that runs none of their code (crafted pickles that try to), and genbench's own files round-tripped."""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import zipfile
from pathlib import Path

import numpy as np
import pytest

from genbench.errors import DataError
from genbench.storage.npz_files import npz_members, read_array, read_rows
from genbench.storage.safe_pickle import load_numpy_pickle
from genbench.storage.statistics_files import (CONVENTIONS, Space, Statistics, edm2_conversion, read_statistics_file,
                                               write_statistics_file)


def gaussian(dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rows = np.random.default_rng(seed).normal(size=(4 * dim, dim))
    return rows.mean(0), np.cov(rows, rowvar=False)


def test_an_adm_batch_is_read_a_slice_at_a_time_with_its_statistics_and_labels(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (7, 5, 6, 3), dtype=np.uint8)
    mu, sigma = gaussian(8)
    mu_s, sigma_s = gaussian(4, seed=2)
    np.savez(tmp_path / "batch.npz", arr_0=images, arr_1=np.arange(7) % 3, mu=mu, sigma=sigma, mu_s=mu_s,
             sigma_s=sigma_s)

    read = read_statistics_file(tmp_path / "batch.npz")

    assert read.format == "ADM reference batch" and read.images.shape == (7, 5, 6, 3)
    assert np.array_equal(read_rows(read.images, 2, 5), images[2:5])
    assert np.array_equal(read_rows(read.images, 5, 99), images[5:])
    assert read.labels.tolist() == [0, 1, 2, 0, 1, 2, 0]
    by_name = {item.name: item for item in read.statistics}
    assert np.array_equal(by_name["mu"].sigma, sigma) and by_name["mu"].space == CONVENTIONS["mu"]
    assert np.array_equal(by_name["mu_s"].mu, mu_s) and by_name["mu_s"].space.feature == "spatial"
    assert read.sha256 == __import__("hashlib").sha256((tmp_path / "batch.npz").read_bytes()).hexdigest()


def test_fid_statistics_of_every_library_are_float64_whatever_they_were_saved_as(tmp_path):
    mu, sigma = gaussian(6)
    np.savez_compressed(tmp_path / "clean.npz", mu=mu.astype(np.float32), sigma=sigma.astype(np.float32))
    (item,) = read_statistics_file(tmp_path / "clean.npz").statistics
    assert item.mu.dtype == np.float64 and np.allclose(item.sigma, sigma, atol=1e-6)
    assert read_statistics_file(tmp_path / "clean.npz").format == "FID statistics (mu, sigma)"


def test_object_arrays_and_unknown_or_half_pairs_are_refused_before_anything_is_unpickled(tmp_path):
    np.savez(tmp_path / "objects.npz", mu=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="member 'mu.npy' holds Python objects, which only unpickling could read"):
        npz_members(tmp_path / "objects.npz")
    mu, sigma = gaussian(3)
    np.savez(tmp_path / "half.npz", mu=mu)
    with pytest.raises(DataError, match="has mu without sigma"):
        read_statistics_file(tmp_path / "half.npz")
    np.savez(tmp_path / "extra.npz", mu=mu, sigma=sigma, notes=np.zeros(2))
    with pytest.raises(DataError, match="holds array 'notes'"):
        read_statistics_file(tmp_path / "extra.npz")
    np.savez(tmp_path / "shape.npz", mu=mu, sigma=sigma[:2])
    with pytest.raises(DataError, match=r"mu is \[3\] and sigma \[2, 3\]; expected \[D\] and \[D, D\]"):
        read_statistics_file(tmp_path / "shape.npz")


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def test_a_member_whose_header_declares_more_data_than_it_holds_is_refused_from_the_header(tmp_path):
    """A covariance declared 40 000 x 40 000 with 8 bytes behind it: refused by the declared size, never allocated."""
    header = _npy(np.zeros((40000, 40000)))[:128]
    with zipfile.ZipFile(tmp_path / "lying.npz", "w") as archive:
        archive.writestr("sigma.npy", header + b"\0" * 8)
        archive.writestr("mu.npy", _npy(np.zeros(40000)))
    with pytest.raises(DataError, match=r"member 'sigma.npy' declares 12800000000 bytes of float64 \[40000, 40000\] "
                                        r"but holds 8 \(a truncated or altered file\)"):
        read_statistics_file(tmp_path / "lying.npz")
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as archive:
        archive.writestr("mu.txt", "hello")
    with pytest.raises(DataError, match="member 'mu.txt' is not an .npy array"):
        npz_members(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(DataError, match="text.npz is not a readable .npz archive"):
        read_statistics_file(tmp_path / "text.npz")


def test_compressed_images_cannot_be_read_by_slices_and_say_how_to_save_them(tmp_path):
    np.savez_compressed(tmp_path / "packed.npz", arr_0=np.zeros((3, 2, 2, 3), dtype=np.uint8))
    images = read_statistics_file(tmp_path / "packed.npz").images
    with pytest.raises(DataError, match="save it with np.savez"):
        read_rows(images, 0, 1)
    assert read_array(images).shape == (3, 2, 2, 3)


EDM2 = {"fid": dict(zip(("mu", "sigma"), gaussian(5))), "fd_dinov2": dict(zip(("mu", "sigma"), gaussian(3, 1))),
        "num_images": 1281167}


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_edm2_reference_pickles_load_through_the_allow_list_in_every_protocol(tmp_path, protocol):
    path = tmp_path / "img512.pkl"
    path.write_bytes(pickle.dumps(EDM2, protocol=protocol))
    read = read_statistics_file(path)
    by_name = {item.name: item for item in read.statistics}
    assert read.format == "EDM2 reference statistics (pickle)"
    assert np.array_equal(by_name["mu"].sigma, EDM2["fid"]["sigma"]) and by_name["mu"].count == 1281167
    assert by_name["mu_fd_dinov2"].space == Space("dinov2", "cls", {"size": "vitl14"},
                                                  note=CONVENTIONS["mu_fd_dinov2"].note)


class RunsCode:
    """Unpickling this calls os.system: it writes a marker file if any code of the pickle runs."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class CallsEval:
    def __reduce__(self):
        return eval, ("__import__('os').system('exit 3')",)


def crafted(marker: Path) -> dict[str, bytes]:
    """Pickles that try to run code or to build something other than numeric arrays and dicts."""
    ndarray_call = (b"\x80\x02cnumpy\nndarray\nq\x00K\x03\x85q\x01\x85q\x02Rq\x03.")  # numpy.ndarray((3,)) called
    return {
        "os.system": pickle.dumps({"fid": RunsCode(marker)}),
        "builtins.eval": pickle.dumps({"fid": CallsEval()}, protocol=4),
        "numpy.load": pickle.dumps({"fid": np.load}, protocol=4),
        "object array": pickle.dumps({"fid": {"mu": np.array([RunsCode(marker)], dtype=object)}}, protocol=4),
        "ndarray called": ndarray_call,
        "persistent id": b"\x80\x02Pmarker\n.",
    }


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "numpy.load", "object array", "ndarray called",
                                  "persistent id"])
def test_crafted_pickles_are_refused_without_running_anything_and_the_conversion_is_spelled_out(tmp_path, name):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(crafted(marker)[name])
    with pytest.raises(DataError) as caught:
        read_statistics_file(path)
    message = str(caught.value)
    assert not marker.exists()
    assert "\n" not in message and edm2_conversion(path) in message
    assert "np.savez" in message and "pickle.load" in message
    if name == "os.system":
        assert "a pickle that asks for 'posix.system'" in message or "'nt.system'" in message


def test_the_allow_list_rebuilds_only_numeric_arrays(tmp_path):
    """A protocol-2 array pickle is the only path numpy uses for bytes: _codecs.encode, accepted for latin-1 only."""
    data = pickle.dumps({"x": np.arange(4, dtype=np.int16)}, protocol=2)
    assert "_codecs" in "".join(str(op) for op in pickletools.genops(data))
    (tmp_path / "ok.pkl").write_bytes(data)
    assert load_numpy_pickle(tmp_path / "ok.pkl", "convert")["x"].tolist() == [0, 1, 2, 3]
    structured = pickle.dumps({"x": np.zeros(2, dtype=[("a", "f8"), ("b", "i4")])}, protocol=4)
    (tmp_path / "records.pkl").write_bytes(structured)
    with pytest.raises(DataError, match="convert$"):
        load_numpy_pickle(tmp_path / "records.pkl", "convert")


def test_genbench_statistics_round_trip_with_the_space_they_were_made_in(tmp_path):
    mu, sigma = gaussian(4)
    space = Space("classifier", "penultimate", {"weights": "digits_classifier.safetensors"}, "57f08113", "made here")
    write_statistics_file(tmp_path / "out.npz", [Statistics("mu", mu, sigma, space, 360)], {"side": "reference"})
    (item,) = read_statistics_file(tmp_path / "out.npz").statistics
    assert read_statistics_file(tmp_path / "out.npz").format == "genbench statistics"
    assert item.space.kind == "classifier" and item.space.identity == "57f08113" and item.count == 360
    assert np.array_equal(item.mu, mu) and np.array_equal(item.sigma, sigma)
    with np.load(tmp_path / "out.npz", allow_pickle=False) as plain:  # what pytorch-fid and clean-fid read
        assert np.array_equal(plain["mu"], mu) and np.array_equal(plain["sigma"], sigma)
