"""Feature extractors: networks that turn images into the features metrics are computed from."""

from genbench.extractors.base import ExtractorSpec, FeatureExtractor

__all__ = ["ExtractorSpec", "FeatureExtractor"]
