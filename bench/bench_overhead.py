"""Harness overhead: a plugin's raw sampling loop against the same sampling inside ``genbench run``.

The raw loop calls ``model.sample`` on the run's batches (same seeds, same batch size) and nothing
else. Inside ``genbench run`` the sampling section is ``genbench.runner.sampling.sample_and_extract``; the feature
extraction it also does (``extract_features``) is timed separately and subtracted, so what is left
over the raw loop is the harness's own cost: batch validation, shard bookkeeping, safetensors
writes, progress bar. The images are checked to be identical (``--save-samples`` keeps them all). The raw loop is timed
before and after the run and the faster of the two is compared.

Two runs of the same loop a minute apart differ by a percent or more on a CPU, so the script also
times the plugin's own ``sample`` calls inside the run: the section minus those calls minus the
feature extraction is the harness's time measured directly, free of that drift.

    python bench/bench_overhead.py --plugin ddim --set steps=10 [--num-samples 1000] [--device cpu]
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

import genbench
import genbench.runner.runner as runner_module
from genbench.evaluation.samples import load_image_folder
from genbench.models.base import ImageFormat, SampleBatch
from genbench.registry import get_registry
from genbench.runner import sampling
from genbench.trust.seeds import sample_seed


def instrumented_run(model_class: type, run: Callable[[], dict],
                     inner: tuple[type, str] | None = None) -> tuple[dict, dict[str, float]]:
    """``run()``'s record and the seconds of its sampling section, of the feature extraction inside it, of the
    plugin's own ``sample`` calls inside it (the probe's, the speed section's and the gallery's are not counted) and,
    given ``inner = (owner, method)``, of the calls of that method inside those (``inner calls``)."""
    sections = {"sampling section": 0.0, "feature extraction": 0.0, "plugin sample calls": 0.0, "inner calls": 0.0}
    in_section: list[bool] = []

    def timing(name: str, function: Callable, counted: Callable[[], bool] = lambda: True) -> Callable:
        @functools.wraps(function)  # a pipeline's task is read from its __call__'s signature
        def wrapper(*a, **k):
            if not counted():
                return function(*a, **k)
            begin = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                sections[name] += time.perf_counter() - begin
        return wrapper

    def section(function: Callable) -> Callable:
        def wrapper(*a, **k):
            in_section.append(True)
            try:
                return function(*a, **k)
            finally:
                in_section.pop()
        return wrapper

    originals = [(model_class, "sample"), (sampling, "extract_features"), (runner_module, "sample_and_extract"),
                 *([inner] if inner else [])]
    saved = [getattr(owner, name) for owner, name in originals]
    model_class.sample = timing("plugin sample calls", model_class.sample, lambda: bool(in_section))
    sampling.extract_features = timing("feature extraction", sampling.extract_features)
    runner_module.sample_and_extract = timing("sampling section", section(runner_module.sample_and_extract))
    if inner:
        setattr(inner[0], inner[1], timing("inner calls", getattr(*inner), lambda: bool(in_section)))
    try:
        return run(), sections
    finally:
        for (owner, name), value in zip(originals, saved):
            setattr(owner, name, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plugin", default="ddim")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    settings = dict(pair.split("=", 1) for pair in args.settings)
    device = torch.device(args.device)
    protocol = get_registry().protocol("digits")
    batch_size = protocol.sampling.batch_size
    spec = get_registry().model(args.plugin).item

    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = Path(scratch) / "model.safetensors"
        torch.manual_seed(0)
        spec.model_class.create(ImageFormat(protocol.data.image_size, protocol.data.channels),
                                dict(spec.default_config)).save(checkpoint)
        model = spec.model_class.load(checkpoint, device)
        model.configure(**settings)
        model.sample(SampleBatch([sample_seed(1, i) for i in range(batch_size)], device))  # warm-up

        def raw_loop() -> tuple[list[torch.Tensor], float]:
            start = time.perf_counter()
            images = [model.sample(SampleBatch([sample_seed(protocol.sampling.seed, i)
                                                for i in range(begin, min(begin + batch_size, args.num_samples))],
                                               device))
                      for begin in range(0, args.num_samples, batch_size)]
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            return images, time.perf_counter() - start

        raw, raw_before = raw_loop()

        record, sections = instrumented_run(spec.model_class, lambda: genbench.run(
            plugin=args.plugin, protocol="digits", checkpoint=checkpoint, device=args.device,
            results_dir=Path(scratch) / "results", quiet=True, save_samples=True,
            settings={**settings, "protocol.sampling.num_samples": str(args.num_samples),
                      "protocol.speed.repeats": "1"}))
        kept = load_image_folder(Path(scratch) / "results" / record["artifacts"]["samples_dir"])
        same = torch.equal(kept, torch.cat(raw).cpu())
        _, raw_after = raw_loop()  # timed again after the run: the machine's drift shows as the difference
    raw_s = min(raw_before, raw_after)

    harness_s = sections["sampling section"] - sections["feature extraction"]
    own_s = harness_s - sections["plugin sample calls"]
    print(f"{args.plugin} {settings}, {args.num_samples} images in batches of {batch_size} on {device}: "
          f"raw loop {raw_before:.2f} s before / {raw_after:.2f} s after the run; "
          f"genbench sampling section {sections['sampling section']:.2f} s, of which "
          f"feature extraction {sections['feature extraction']:.2f} s; sampling inside genbench {harness_s:.2f} s, "
          f"overhead {100 * (harness_s - raw_s) / raw_s:+.1f} %; images identical: {same}\n"
          f"inside the run: plugin sample calls {sections['plugin sample calls']:.3f} s, the harness's own time "
          f"{own_s:.3f} s = {100 * own_s / sections['plugin sample calls']:.2f} % of them")


if __name__ == "__main__":
    main()
