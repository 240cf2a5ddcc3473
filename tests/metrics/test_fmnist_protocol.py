"""The fmnist protocol end to end on a tiny local Fashion-MNIST: a classifier trained on first use,
random-weight Inception from the weights directory, every metric of the protocol."""

from __future__ import annotations

import pytest
from diffusion_helpers import one_thread  # noqa: F401  (fixture)
from test_pixel_datasets import write_fashion_mnist

from genbench.cli import main
from genbench.protocols.protocol import builtin_protocol_files
from genbench.storage.results import read_result

pytestmark = pytest.mark.usefixtures("one_thread")


def small_fmnist(tmp_path):
    """fmnist.toml with 100 samples, KID subsets of 50 and FID allowed a singular 2048-d covariance."""
    text = next(p for p in builtin_protocol_files() if p.name == "fmnist.toml").read_text(encoding="utf-8")
    text = text.replace("num_samples = 10000", "num_samples = 100").replace("subset_size = 1000", "subset_size = 50")
    text = text.replace('feature = "2048"\n\n[metrics.kid]', 'feature = "2048"\nallow_singular_covariance = true\n\n[metrics.kid]')
    text = text.replace("shard_size = 500", "shard_size = 50").replace("batch_sizes = [1, 150, 250]",
                                                                        "batch_sizes = [1, 50]")
    path = tmp_path / "fmnist-classifier-only.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow  # 180 images through InceptionV3 at 299x299: about half a minute on 2 idle cores
def test_vae_on_a_local_fashion_mnist_with_every_metric_of_the_protocol(inception_weights, tmp_path, capsys):
    write_fashion_mnist(tmp_path / "data", train=40, test=80)
    code = main(["run", "--plugin", "vae", "--protocol", str(small_fmnist(tmp_path)),
                 "--data-dir", str(tmp_path / "data"), "--results-dir", str(tmp_path / "r"),
                 "--weights-dir", str(inception_weights), "--trust-weights", "--set", "train.max_steps=2", "--quiet"])
    assert code == 0, capsys.readouterr().err
    [path] = (tmp_path / "r").glob("*.json")
    record = read_result(path)
    classifier = record["extractors"]["classifier"]
    assert classifier["kind"] == "dataset-classifier" and 0 <= classifier["test_accuracy"] <= 1
    assert classifier["trained_on"]["dataset"] == "fmnist"
    assert record["reference"]["num_images"] == 80
    assert set(record["metrics"]) == {"confidence", "fd_classifier", "kid_classifier", "fid", "kid"}
    assert record["metrics"]["fid"]["extractor"] == "inception" and record["metrics"]["fid"]["value"] > 0
    extras = record["metrics"]["confidence"]["extras"]
    assert sum(extras["histogram"]["counts"]) == sum(extras["predicted_class_counts"]) == 100
    assert record["training"]["steps"] == 2


def test_fmnist_without_data_offline_stops_with_the_layout(tmp_path, capsys):
    code = main(["run", "--plugin", "vae", "--protocol", str(small_fmnist(tmp_path)),
                 "--data-dir", str(tmp_path / "none"), "--results-dir", str(tmp_path / "r"), "--quiet"])
    assert code == 2
    assert capsys.readouterr().err.startswith(f"genbench: error: Fashion-MNIST not found or incomplete under {tmp_path / 'none'} "
                                              "(downloads are off); expected ")
