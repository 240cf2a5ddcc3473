"""The shipped shapes-CLIP: pinned by the protocol, good at its job, and rebuildable by its script."""

from __future__ import annotations

import pytest

from genbench.datasets.base import DataRequest
from genbench.datasets.shapes import load_shapes_split
from genbench.extractors.open_clip_models import REFERENCE_CONFIGS, load_clip
from genbench.protocols.protocol import builtin_protocol_files, load_protocol_file
from genbench.reference.build_shapes_clip import MODEL_NAME, caption_accuracy, train_shapes_clip
from genbench.trust.hashing import sha256_file


def test_shipped_weights_are_pinned_and_match_their_captions():
    protocol = load_protocol_file(next(p for p in builtin_protocol_files() if p.stem == "shapes"))
    settings = protocol.extractors["clip"]
    path = REFERENCE_CONFIGS / settings["pretrained"]
    assert sha256_file(path) == settings["sha256"]
    clip = load_clip(settings["model"], str(path))
    test = load_shapes_split(DataRequest("test", 32, 3, options={"test_size": 1000}))
    accuracy = caption_accuracy(clip, test.images, test.captions)
    assert accuracy == pytest.approx(settings["caption_accuracy"], abs=1e-4)
    assert accuracy > 0.9


def test_build_script_is_deterministic_and_trains():
    import open_clip
    import torch

    data = load_shapes_split(DataRequest("train", 32, 3, options={"train_size": 64}))
    first = train_shapes_clip(data.images, data.captions, epochs=1, batch_size=32)
    second = train_shapes_clip(data.images, data.captions, epochs=1, batch_size=32)
    torch.manual_seed(0)
    initial = open_clip.create_model(MODEL_NAME).state_dict()
    trained, again = first.model.state_dict(), second.model.state_dict()
    assert first.model_name == MODEL_NAME and not any(p.requires_grad for p in first.model.parameters())
    assert all(torch.equal(trained[k], again[k]) for k in trained)
    assert not torch.equal(trained["visual.conv1.weight"], initial["visual.conv1.weight"])
