"""What the metrics of issue 12 cost on features: a digits run's sizes and a 10 000-image pass.

Features only: the metrics are computed from feature matrices (random Gaussian rows of the
real dimensions), so no network runs; the extractors' own cost is that of one more forward
pass per image. Each metric is timed once, and its bootstrap for a few rounds (the per-round
cost times B is the cost of B rounds: rounds are independent recomputations).

    OMP_NUM_THREADS=1 python bench/bench_feature_metrics.py --preset digits
    OMP_NUM_THREADS=1 python bench/bench_feature_metrics.py --preset 10k --rounds 3
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from genbench.metrics.base import MetricInputs
from genbench.metrics.bootstrap import bootstrap_interval
from genbench.metrics.cmmd import CMMD
from genbench.metrics.fidelity import FID, KID
from genbench.metrics.frechet import FD, FID_INFINITY
from genbench.metrics.manifold import COVERAGE, DENSITY
from genbench.metrics.vendi import VENDI

#: preset -> (generated, reference, [(metric key, spec, feature dim, extra settings, time the bootstrap)])
PRESETS = {
    "digits": (1000, 360, [("fd", FID, 64, {}, True),
                           ("fd_infinity", FID_INFINITY, 64, {"min_fraction": 0.35}, True),
                           ("kid", KID, 64, {"subset_size": 100, "subsets": 100}, True),
                           ("density", DENSITY, 64, {}, True), ("coverage", COVERAGE, 64, {}, True),
                           ("vendi", VENDI, 64, {}, False)]),
    # FID∞ needs subsets larger than the dimension: on DINOv2 features from 25 % (2 500 > 1 024).
    "10k": (10000, 10000, [("fid (Inception)", FID, 2048, {}, True), ("fd_dinov2 (ViT-L/14)", FD, 1024, {}, True),
                           ("fid_infinity (ViT-L/14)", FID_INFINITY, 1024, {"min_fraction": 0.25}, False),
                           ("cmmd (ViT-L-14-336)", CMMD, 768, {}, True),
                           ("density (Inception)", DENSITY, 2048, {}, False),
                           ("coverage (Inception)", COVERAGE, 2048, {}, False),
                           ("vendi (Inception)", VENDI, 2048, {}, False)]),
}
def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="digits")
    parser.add_argument("--rounds", type=int, default=20, help="bootstrap rounds timed per two-set metric")
    parser.add_argument("--only", help="comma-separated metric keys of the preset to time (default: all)")
    args = parser.parse_args()
    n_gen, n_ref, metrics = PRESETS[args.preset]
    print(f"load {os.getloadavg()[0]:.2f}, torch threads {torch.get_num_threads()}, "
          f"{n_gen} generated vs {n_ref} reference rows")
    print("| metric | dim | once (s) | per bootstrap round (s) | 200 rounds (s, extrapolated) |")
    print("| --- | --- | --- | --- | --- |")
    generator = torch.Generator().manual_seed(0)
    wanted = set(args.only.split(",")) if args.only else None
    for key, spec, dim, extra, bootstrap in metrics:
        if wanted is not None and key.split()[0] not in wanted:
            continue
        generated = torch.randn(n_gen, dim, generator=generator, dtype=torch.float64)
        reference = torch.randn(n_ref, dim, generator=generator, dtype=torch.float64) + 0.1
        settings = {**spec.defaults, **extra, "feature": "f"}
        inputs = MetricInputs({"f": generated}, {"f": reference} if spec.needs_reference else None, settings)
        once = timed(lambda: spec.compute(inputs))
        if spec.needs_reference and bootstrap:
            rounds = {**settings, "bootstrap": args.rounds}
            per_round = timed(lambda: bootstrap_interval(spec, MetricInputs(inputs.generated, inputs.reference,
                                                                            rounds))) / args.rounds
            print(f"| {key} | {dim} | {once:.3g} | {per_round:.3g} | {200 * per_round:.3g} |")
        else:
            print(f"| {key} | {dim} | {once:.3g} | {'≈ once' if spec.needs_reference else '–'} | – |")
    print(f"load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
