"""genbench's metric pass against ``torch_fidelity.calculate_metrics`` (FID + KID + IS) on the same images.

Two folders of N generated and N reference images (made here: smooth random colour fields, 32×32)
are scored by torch-fidelity and by genbench's engine (``genbench compare``: the same Inception
extractor, fixed feature chunks, reference-feature cache and torch-fidelity metric functions a
run uses). The second round scores a new generated folder against the same reference, which
genbench reads from its cache. Both values and the wall-time ratio are printed. Before that, the
FID-from-statistics step alone (2048-d statistics of ``--fid-samples`` random correlated features)
is timed both ways: torch-fidelity's ``fid_statistics_to_metric`` and genbench's Cholesky route.

Offline, the Inception weights are random (BatchNorm-calibrated, see
``genbench.extractors.random_inception``): timings are those of the real network, values are
not real FIDs. Pass ``--weights-dir`` holding ``weights-inception-2015-12-05-6726825d.pth`` to
use the official file.

    python bench/bench_metrics.py --num-images 100
    python bench/bench_metrics.py --num-images 2100 --warm-reference   # FID's fast route needs N > 2048
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch_fidelity
from threadpoolctl import threadpool_info, threadpool_limits
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

from genbench.evaluation.compare import CHUNK, CompareOptions, compare_folders
from genbench.extractors.inception import torch_fidelity_inception
from genbench.extractors.random_inception import structured_images, write_random_inception_weights
from genbench.metrics.blas import one_blas_thread
from genbench.metrics.frechet_distance import frechet_distance, trace_sqrt_product
from genbench.storage.images import save_images


def torch_fidelity_metrics(generated: Path, reference: Path, weights: Path, kid_subset_size: int) -> dict:
    return torch_fidelity.calculate_metrics(
        input1=str(generated), input2=str(reference), cuda=torch.cuda.is_available(), fid=True, kid=True, isc=True,
        kid_subset_size=kid_subset_size, batch_size=CHUNK, feature_extractor_weights_path=str(weights),
        cache=False, verbose=False)


def timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - start


def fastest(repeats: int, function, *args):
    """The value and the best wall time of ``repeats`` calls (the least disturbed by other load)."""
    runs = [timed(function, *args) for _ in range(repeats)]
    return runs[0][0], min(seconds for _, seconds in runs)


def fid_from_statistics(samples: int, repeats: int) -> None:
    """torch-fidelity's eigenvalue route against genbench's Cholesky route on the same 2048-d statistics: as each
    runs by default (torch-fidelity on every core, genbench's FID metric on one BLAS thread), and both on the
    same number of threads."""
    generator = torch.Generator().manual_seed(0)
    mixing = torch.eye(2048, dtype=torch.float64) + torch.randn(2048, 2048, generator=generator, dtype=torch.float64) / 45
    features = [torch.randn(samples, 2048, generator=generator, dtype=torch.float64) @ mixing + shift
                for shift in (0.0, 0.1)]
    stats = [fid_features_to_statistics(f) for f in features]
    assert trace_sqrt_product(stats[0]["sigma"], stats[1]["sigma"]) is not None

    def theirs():
        return fid_statistics_to_metric(*stats, False)["frechet_inception_distance"]

    def ours():
        return frechet_distance(*stats)

    def ours_as_run():
        with one_blas_thread():
            return ours()

    cores = next(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
    with threadpool_limits(1):
        one = [fastest(repeats, theirs), fastest(repeats, ours)]
    rows = {f"defaults (torch-fidelity {cores} threads, genbench 1)": [fastest(repeats, theirs),
                                                                         fastest(repeats, ours_as_run)],
            "both on 1 thread": one,
            f"both on {cores} threads": [fastest(repeats, theirs), fastest(repeats, ours)]}
    print(f"FID from 2048-d statistics ({samples} samples each, best of {repeats}):")
    for label, ((their_value, their_seconds), (our_value, our_seconds)) in rows.items():
        print(f"  {label:<42} torch-fidelity {their_seconds:.2f} s, genbench {our_seconds:.2f} s, "
              f"ratio {our_seconds / their_seconds:.2f}; FID {our_value:.10g} vs {their_value:.10g} "
              f"(rel. diff {abs(our_value - their_value) / their_value:.1e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-images", type=int, default=100, help="images per folder (default 100)")
    parser.add_argument("--weights-dir", type=Path, help="directory with the official Inception weights file")
    parser.add_argument("--fid-samples", type=int, default=4096, help="samples behind the timed FID statistics")
    parser.add_argument("--repeats", type=int, default=3, help="timings of the FID step (best one kept)")
    parser.add_argument("--warm-reference", action="store_true",
                        help="skip round 1: fill genbench's cache with the reference features only (untimed)")
    args = parser.parse_args()
    n, kid_subset_size = args.num_images, min(1000, args.num_images // 2)
    fid_from_statistics(args.fid_samples, args.repeats)

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        weights_dir = args.weights_dir or root / "weights"
        weights = weights_dir / torch_fidelity_inception().filename
        if args.weights_dir is None:
            write_random_inception_weights(weights)
        folders = {name: root / name for name in ("reference", "generated-1", "generated-2")}
        for seed, (name, folder) in enumerate(folders.items()):
            if name != "generated-1" or not args.warm_reference:
                save_images(structured_images(seed=seed, count=n, shift=30.0 * (name != "reference")), folder)
        options = dict(kid_subset_size=kid_subset_size, allow_singular_covariance=n <= 2048, device=None,
                       weights_dir=weights_dir, cache_dir=root / "cache", trust_weights=args.weights_dir is None)

        print(f"{n} generated vs {n} reference images, 32x32; device "
              f"{'cuda' if torch.cuda.is_available() else 'cpu'}, {torch.get_num_threads()} threads")
        print(f"{'round':<28}{'torch-fidelity s':>17}{'genbench s':>12}{'ratio':>8}  values (fid, kid, isc)")
        rounds = [("1: nothing cached", folders["generated-1"]), ("2: reference cached", folders["generated-2"])]
        if args.warm_reference:
            compare_folders(CompareOptions(folders["reference"], folders["reference"], **options))  # fills the cache
            rounds = rounds[1:]
        for label, generated in rounds:
            theirs, their_seconds = timed(torch_fidelity_metrics, generated, folders["reference"], weights,
                                          kid_subset_size)
            ours, our_seconds = timed(compare_folders, CompareOptions(generated, folders["reference"], **options))
            keys = ("frechet_inception_distance", "kernel_inception_distance_mean", "inception_score_mean")
            worst = max(abs(ours[k] - theirs[k]) / abs(theirs[k]) for k in theirs)
            print(f"{label:<28}{their_seconds:>17.1f}{our_seconds:>12.1f}{our_seconds / their_seconds:>8.2f}  "
                  f"{', '.join(f'{ours[k]:.6g}' for k in keys)}  (max rel. diff {worst:.1e})")


if __name__ == "__main__":
    main()
