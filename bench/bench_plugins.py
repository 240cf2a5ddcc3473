"""Seed 002's table from genbench: per plugin, training time, sampling speed, network evaluations, metrics.

    python bench/bench_plugins.py [--protocol digits] [--plugins vae,ddpm,ddim] [--results-dir DIR]
                                  [--paper-ddpm] [--data-dir DIR] [--device cpu|cuda]

Each plugin is trained with the protocol's recipe and evaluated by ``genbench.run``; the table
prints what the result records hold, plus the time to generate 150 samples in one batch (the
figure seed 002 reports: VAE 0.004 s vs DDPM 18.1 s, about 400x). ``--paper-ddpm`` also times
150 samples from a DDPM with the paper's T = 1000 steps and the same U-Net (its weights do not
change the time). The device and thread count are printed with the table: quote them with it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import genbench
from genbench.models.base import SampleBatch
from genbench.registry import get_registry
from genbench.trust.seeds import sample_seed

SEED_002_SAMPLES = 150


def time_samples(model, count: int, device: torch.device) -> float:
    """Seconds to generate ``count`` samples in one batch (after one warm-up image)."""
    model.sample(SampleBatch([sample_seed(7, 0)], device))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    model.sample(SampleBatch([sample_seed(7, i) for i in range(count)], device))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def load_model(record: dict, device: torch.device):
    spec = get_registry().model(record["plugin"]["name"]).item
    model = spec.model_class.load(Path(record["plugin"]["checkpoint"]), device)
    model.configure(**{k: str(v) for k, v in record["plugin"]["settings"].items()})
    return model


def paper_ddpm(record: dict, device: torch.device):
    """The digits-trained DDPM's U-Net on the paper's T = 1000 schedule (for timing only)."""
    spec = get_registry().model("ddpm").item
    config = {**record["plugin"]["config"], "num_train_timesteps": 1000, "beta_start": 1e-4, "beta_end": 0.02}
    return spec.model_class(config).to(device).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", default="digits")
    parser.add_argument("--plugins", default="vae,ddpm,ddim")
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--device", default=None)
    parser.add_argument("--paper-ddpm", action="store_true", help="also time 150 samples with T = 1000")
    args = parser.parse_args()

    rows = []
    for plugin in args.plugins.split(","):
        start = time.perf_counter()
        record = genbench.run(plugin=plugin, protocol=args.protocol, results_dir=args.results_dir,
                              device=args.device, data_dir=args.data_dir, quiet=True)
        wall = time.perf_counter() - start
        device = torch.device(record["speed"]["device"])
        seconds_150 = time_samples(load_model(record, device), SEED_002_SAMPLES, device)
        rows.append((plugin, record, wall, seconds_150))
        print(f"{plugin}: {record['path']} ({wall:.0f} s)", flush=True)
    if args.paper_ddpm:
        ddpm = next((r for p, r, _, _ in rows if p == "ddpm"), None)
        if ddpm is not None:
            device = torch.device(ddpm["speed"]["device"])
            rows.append(("ddpm T=1000 (timing only)", None, None,
                         time_samples(paper_ddpm(ddpm, device), SEED_002_SAMPLES, device)))

    first = rows[0][1]
    print(f"\nprotocol {args.protocol} (fingerprint {first['protocol']['fingerprint']}), device "
          f"{first['speed']['device']}, torch threads {torch.get_num_threads()}, "
          f"{first['environment'].get('hardware')}\n")
    metric_keys = list(first["metrics"])
    batches = list(first["speed"]["by_batch_size"])
    print("| plugin | training (s) | evals/image | " + " | ".join(f"s/image @ {b}" for b in batches)
          + f" | {SEED_002_SAMPLES} samples (s) | vs {rows[0][0]} | " + " | ".join(metric_keys) + " | share > 0.8 | run (s) |")
    print("|" + " --- |" * (7 + len(batches) + len(metric_keys)))
    for plugin, record, wall, seconds_150 in rows:
        ratio = seconds_150 / rows[0][3]
        if record is None:
            print(f"| {plugin} | | 1000 | " + " | ".join("" for _ in batches) + f" | {seconds_150:.3g} | "
                  f"{ratio:.0f}x | " + " | ".join("" for _ in metric_keys) + " | | |")
            continue
        speed = record["speed"]
        training = record["training"]["seconds"] if record["training"] else 0.0
        per_image = [speed["by_batch_size"][b]["seconds_per_image"] for b in batches]
        values = [record["metrics"][k]["value"] for k in metric_keys]
        shares = [m["extras"]["share_above_threshold"] for m in record["metrics"].values()
                  if "share_above_threshold" in m.get("extras", {})]
        print(f"| {plugin} | {training:.0f} | {speed['network_evaluations_per_image']} | "
              + " | ".join(f"{v:.3g}" for v in per_image) + f" | {seconds_150:.3g} | {ratio:.0f}x | "
              + " | ".join(f"{v:.4g}" for v in values) + f" | {shares[0] if shares else '-'} | {wall:.0f} |")


if __name__ == "__main__":
    main()
