"""Everything a fingerprint pins, one module per part, in the order docs/fingerprint.md explains them: hashing,
seeds, the fingerprint, the reference identity, image digests, the determinism probe, code identity, provenance."""
