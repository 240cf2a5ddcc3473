"""Plain-text rendering of a result record for the terminal."""

from __future__ import annotations

from typing import Any

from genbench.storage.results import describe_load


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_result(record: dict[str, Any]) -> str:
    """A short human-readable table: identity, metrics with spread, speed, size, training."""
    protocol, plugin = record["protocol"], record["plugin"]
    lines = [
        f"run        {record['run_id']}",
        f"protocol   {protocol['name']} v{protocol['version']}  fingerprint {protocol['fingerprint']}",
        f"plugin     {plugin['name']} "
        + (f"({plugin['distribution']} {plugin.get('version')})" if plugin.get("distribution")
           else f"({plugin.get('description')})")
        + (f"  settings {plugin['settings']}" if plugin.get("settings") else ""),
        f"checkpoint {plugin.get('checkpoint') or '-'}  sha256 {(plugin.get('checkpoint_sha256') or '-')[:16]}",
        "",
        f"{'metric':<24}{'value':>14}{'± std':>14}  computed by",
    ]
    for key, metric in record.get("metrics", {}).items():
        std = "" if metric.get("std") is None else _number(metric["std"])
        arrow = "↑" if metric.get("higher_is_better") else "↓"
        lines.append(f"{key + ' ' + arrow:<24}{_number(metric['value']):>14}{std:>14}  "
                     f"{metric['metric']} on {metric['extractor']}/{metric['feature']}")
        if metric.get("extras", {}).get("formula"):
            lines.append(f"  {metric['extras']['formula']}")
        interval = metric.get("interval")
        if interval:
            lines.append(f"  {100 * interval['level']:g} % bootstrap interval [{_number(interval['low'])}, "
                         f"{_number(interval['high'])}] ({interval['rounds']} rounds)")
        share = metric.get("extras", {}).get("share_above_threshold")
        if share is not None:
            lines.append(f"{'  share > ' + _number(metric['extras']['threshold']):<24}{_number(share):>14}")
    for entry in (record.get("artifacts") or {}).get("gallery") or []:
        if isinstance(entry, dict):  # other shapes are a leaderboard's business (see leaderboard.artifacts)
            diversity = f"  diversity {_number(entry['diversity'])}" if "diversity" in entry else ""
            lines.append(f"gallery    {entry.get('file')}{diversity}  {entry.get('prompt')!r}")
    speed = record.get("speed") or {}
    if speed:
        lines.append("")
        lines.append(f"speed on {speed.get('device')}: {speed.get('network_evaluations_per_image')} network "
                     f"evaluations per image")
        if speed.get("contended"):
            lines.append(f"  timed on a busy machine ({describe_load(speed.get('machine_load'))}): "
                         "not comparable with timings on an idle one")
        for b, figures in speed.get("by_batch_size", {}).items():
            lines.append(f"  batch {b:>5}: {figures['seconds_per_image']:.3g} s/image, "
                         f"{figures['images_per_second']:.4g} images/s")
    params = record.get("parameters") or {}
    if params:
        lines.append(f"parameters {params.get('all'):,} (trainable {params.get('trainable'):,})")
    training = record.get("training")
    if training:
        lines.append(f"training   {training['epochs']} epochs, {training['steps']} steps, "
                     f"{training['seconds']:.1f} s ({training['seconds_per_epoch']:.2f} s/epoch)")
    warnings = record.get("warnings") or []
    if warnings:
        lines.append("")
        lines += [f"warning    {warning}" for warning in warnings]
    return "\n".join(lines)
