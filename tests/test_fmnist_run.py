"""The fmnist protocol end to end on a tiny local Fashion-MNIST, with its classifier metrics only
(its Inception metrics need the ``inception`` extractor and its weights)."""

from __future__ import annotations

import re

import pytest

from diffusion_helpers import one_thread  # noqa: F401  (fixture)
from genbench.cli import main
from genbench.protocol import builtin_protocol_files
from genbench.results import read_result
from test_pixel_datasets import write_fashion_mnist

pytestmark = pytest.mark.usefixtures("one_thread")
INCEPTION_TABLES = ("[extractors.inception]", "[metrics.fid]", "[metrics.kid]")


def classifier_only_fmnist(tmp_path):
    """fmnist.toml without its Inception tables, with 100 samples and small KID subsets."""
    text = next(p for p in builtin_protocol_files() if p.name == "fmnist.toml").read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=\[)", text)
    kept = [b for b in blocks if not b.startswith(INCEPTION_TABLES)]
    text = "\n".join(kept).replace("num_samples = 10000", "num_samples = 100").replace("subset_size = 1000",
                                                                                      "subset_size = 50")
    text = text.replace("shard_size = 500", "shard_size = 50").replace("batch_sizes = [1, 150, 250]",
                                                                        "batch_sizes = [1, 50]")
    path = tmp_path / "fmnist-classifier-only.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_vae_on_a_local_fashion_mnist_with_a_classifier_trained_on_first_use(tmp_path, capsys):
    write_fashion_mnist(tmp_path / "data", train=40, test=80)
    code = main(["run", "--plugin", "vae", "--protocol", str(classifier_only_fmnist(tmp_path)),
                 "--data-dir", str(tmp_path / "data"), "--results-dir", str(tmp_path / "r"),
                 "--set", "train.max_steps=2", "--quiet"])
    assert code == 0, capsys.readouterr().err
    [path] = (tmp_path / "r").glob("*.json")
    record = read_result(path)
    classifier = record["extractors"]["classifier"]
    assert classifier["kind"] == "dataset-classifier" and 0 <= classifier["test_accuracy"] <= 1
    assert classifier["trained_on"]["dataset"] == "fmnist"
    assert record["reference"]["num_images"] == 80
    assert set(record["metrics"]) == {"confidence", "fd_classifier", "kid_classifier"}
    extras = record["metrics"]["confidence"]["extras"]
    assert sum(extras["histogram"]["counts"]) == sum(extras["predicted_class_counts"]) == 100
    assert record["training"]["steps"] == 2


def test_fmnist_without_data_offline_stops_with_the_layout(tmp_path, capsys):
    code = main(["run", "--plugin", "vae", "--protocol", str(classifier_only_fmnist(tmp_path)),
                 "--data-dir", str(tmp_path / "none"), "--results-dir", str(tmp_path / "r"), "--quiet"])
    assert code == 2
    assert capsys.readouterr().err.startswith(f"genbench: error: Fashion-MNIST not found or incomplete under {tmp_path / 'none'} "
                                              "(downloads are off); expected ")
