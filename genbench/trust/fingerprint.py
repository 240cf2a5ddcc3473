"""The fingerprint: what makes two results comparable, in 16 hex digits.

It hashes the protocol's definition (the parts of its file that change numbers), each extractor's identity
(the SHA-256 of the weights actually loaded, and build-time settings such as CLIP's preprocessing), the
content identity of the reference data actually read (``genbench.trust.reference_identity``) and the
version of the sampling plan (how image i's seed is derived, ``genbench.trust.seeds``); for class-conditional
protocols also the version of the class plan (which class image i is asked for).
"""

from __future__ import annotations

from typing import Any

from genbench.trust.hashing import sha256_json
from genbench.trust.seeds import SAMPLING_PLAN_VERSION


def protocol_fingerprint(definition: dict[str, Any], extractor_identities: dict[str, Any],
                         reference_sha256: str, class_plan: int | None = None) -> str:
    """The first 16 hex digits of the SHA-256 of the canonical JSON of the parts above; ``class_plan`` (the
    class plan's version) only where the protocol asks for classes, so no other fingerprint moves."""
    parts = {"definition": definition, "extractor_weights": dict(sorted(extractor_identities.items())),
             "reference_sha256": reference_sha256, "sampling_plan": SAMPLING_PLAN_VERSION}
    if class_plan is not None:
        parts["class_plan"] = class_plan
    return sha256_json(parts)[:16]


def converted_fingerprint(fingerprint: str, lossy_steps: list[str]) -> str:
    """The fingerprint of a run whose images the harness converted with ``lossy_steps`` (a resize filter, RGB to
    grey): ``fingerprint`` itself when there are none, else 16 hex digits of both, so such a run is ranked only
    with runs converted the same way."""
    if not lossy_steps:
        return fingerprint
    return sha256_json({"protocol": fingerprint, "conversion": list(lossy_steps)})[:16]
