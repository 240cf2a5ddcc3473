"""The reference data is part of the fingerprint (issue 9 item 1): content identity, pins, cache, COCO selection."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from test_captioned_data import make_coco
from tests_support import SMALL

import genbench
from genbench.cli import main
from genbench.datasets.base import DataRequest, DatasetSpec
from genbench.datasets.coco import load_coco
from genbench.errors import DataError
from genbench.evaluation.data import load_reference, load_split
from genbench.protocols.protocol import builtin_protocol_files, load_protocol_file
from genbench.registry import Provided, get_registry
from genbench.trust.hashing import sha256_file
from genbench.trust.reference_identity import reference_identity


@pytest.mark.parametrize("name", ["digits", "shapes", "digits-classes", "shapes-classes"])
def test_the_shipped_pins_are_the_identity_of_the_data_read_here(name):
    protocol = get_registry().protocol(name)
    reference = load_split(protocol, protocol.data.reference_split, None, get_registry())
    assert protocol.data.reference_sha256 is not None
    assert reference_identity(reference)["sha256"] == protocol.data.reference_sha256


def test_the_pixel_hash_is_a_plain_sha256_of_the_uint8_images():
    protocol = get_registry().protocol("digits")
    reference = load_split(protocol, "test", None, get_registry())
    parts = reference_identity(reference)["parts"]
    assert parts["pixels_sha256"] == hashlib.sha256(reference.images.numpy().tobytes()).hexdigest()
    assert parts["shape"] == [360, 1, 16, 16]
    relabelled = dataclasses.replace(reference, labels=reference.labels.roll(1))
    assert reference_identity(relabelled)["sha256"] != reference_identity(reference)["sha256"]


def tampered_digits(monkeypatch):
    """Replace the registered digits loader by one whose copy differs in one pixel of one test image."""
    registry = get_registry()
    provided = registry.datasets["digits"]

    def load(request: DataRequest):
        data = provided.item.load(request)
        if request.split == "test":
            data.images[5, 0, 8, 8] ^= 1
        return data

    spec = DatasetSpec(provided.item.name, provided.item.description, load, provided.item.splits)
    monkeypatch.setitem(registry.datasets, "digits", Provided(spec, provided.plugin))


def test_a_different_copy_is_refused_unless_allowed_and_then_gets_its_own_fingerprint(tmp_path, monkeypatch,
                                                                                     vae_checkpoint):
    common = dict(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, quiet=True, settings=SMALL)
    standard = genbench.run(results_dir=tmp_path / "standard", **common)
    pin = get_registry().protocol("digits").data.reference_sha256
    assert standard["reference"]["sha256"] == pin and "mismatch" not in standard["reference"]

    tampered_digits(monkeypatch)
    with pytest.raises(DataError) as refused:
        genbench.run(results_dir=tmp_path / "refused", **common)
    found = str(refused.value).split(" has identity ")[1].split(",")[0]
    assert found != pin
    assert str(refused.value) == (
        f"reference data of protocol 'digits' (digits/test) has identity {found}, the protocol pins {pin} "
        f"(another release or a damaged copy?); pass --allow-reference-mismatch to score against it under its "
        f"own fingerprint")
    assert not (tmp_path / "refused").exists() or not list((tmp_path / "refused").glob("*.json"))

    allowed = genbench.run(results_dir=tmp_path / "allowed", allow_reference_mismatch=True, **common)
    assert allowed["reference"]["mismatch"] == {"expected": pin, "found": found}
    assert allowed["protocol"]["fingerprint"] != standard["protocol"]["fingerprint"]
    # the reference-feature cache is keyed by content: the other copy's features are computed, not reused
    assert allowed["reference"]["cache_hits"] == {"classifier": False}
    assert allowed["metrics"]["fd"]["value"] != standard["metrics"]["fd"]["value"]


def test_a_lazily_decoded_set_hashes_its_pixels_at_load_exactly_as_a_tensor_would(tmp_path):
    make_coco(tmp_path)
    data = load_coco(DataRequest("val", 16, 3, root=tmp_path, options={"num_captions": 5}))
    assert data.pixels_sha256 == hashlib.sha256(data.images[:].numpy().tobytes()).hexdigest()
    assert reference_identity(data) == reference_identity(dataclasses.replace(data, pixels_sha256=None))
    source = data.identity_source
    assert source["annotations_sha256"] == sha256_file(tmp_path / "coco" / "annotations" / "captions_val2014.json")
    assert source["skipped_files"] == [] and len(source["selection_sha256"]) == 64

    # an image that no longer decodes is skipped, and the identity says so
    (tmp_path / "coco" / "val2014" / data.selection[0]["file"]).write_bytes(b"not a jpeg")
    damaged = load_coco(DataRequest("val", 16, 3, root=tmp_path,
                                    options={"num_captions": 5, "max_bad_image_share": 0.5}))
    assert damaged.identity_source["skipped_files"] == [data.selection[0]["file"]]
    assert reference_identity(damaged)["sha256"] != reference_identity(data)["sha256"]


def coco_protocol(tmp_path):
    """coco5k shrunk to 5 captions at 16x16, as a protocol file."""
    coco5k = next(p for p in builtin_protocol_files() if p.stem == "coco5k").read_text(encoding="utf-8")
    text = coco5k.replace("num_captions = 5000", "num_captions = 5").replace("image_size = 128", "image_size = 16")
    path = tmp_path / "coco-tiny.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_caption_selection_can_be_exported_and_the_identity_printed(tmp_path, capsys):
    make_coco(tmp_path)
    protocol = coco_protocol(tmp_path)
    out = tmp_path / "selection.tsv"
    code = main(["reference", "--protocol", str(protocol), "--data-dir", str(tmp_path), "--export-selection", str(out),
                 "--print-identity", "--quiet"])
    printed = capsys.readouterr().out
    data = load_coco(DataRequest("val", 16, 3, root=tmp_path, options={"num_captions": 5}))
    assert code == 0 and f'reference_sha256 = "{reference_identity(data)["sha256"]}"' in printed
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "image_id\tcaption_id\tfile\tcaption"
    assert [line.split("\t")[3] for line in lines[1:]] == data.captions
    assert [tuple(map(int, line.split("\t")[:2])) for line in lines[1:]] == [
        (100 + int(c.split()[1]), 1000 * int(c.split()[1]) + int(c.split()[3])) for c in data.captions]


def test_exporting_a_selection_of_a_set_without_one_is_one_line(tmp_path, capsys):
    code = main(["reference", "--protocol", "digits", "--export-selection", str(tmp_path / "x.tsv"), "--quiet"])
    assert code == 2
    assert capsys.readouterr().err.strip() == ("genbench: error: protocol 'digits': data set 'digits' selects no "
                                               "records to export (only caption selections, such as COCO's, can be "
                                               "exported)")
    assert not (tmp_path / "x.tsv").exists()


def test_a_selection_pin_that_does_not_match_has_the_same_way_past_as_the_reference_pin(tmp_path, capsys):
    """COCO's selection_sha256 (another annotations file, another selection) is refused with the flag to pass,
    and under --allow-reference-mismatch is read and recorded in the loader's info (the result's data_info)."""
    make_coco(tmp_path)
    protocol_file = coco_protocol(tmp_path)
    text = protocol_file.read_text(encoding="utf-8").replace("[data]", f'[data]\nselection_sha256 = "{"0" * 64}"')
    protocol_file.write_text(text, encoding="utf-8")
    arguments = ["reference", "--protocol", str(protocol_file), "--data-dir", str(tmp_path), "--print-identity"]
    assert main(arguments) == 2
    assert capsys.readouterr().err.strip().endswith(
        f"the protocol pins {'0' * 16}... (a different annotations file?); pass --allow-reference-mismatch to score "
        f"against this selection under its own fingerprint")
    assert main([*arguments, "--allow-reference-mismatch"]) == 0
    data = load_coco(DataRequest("val", 16, 3, root=tmp_path, options={"num_captions": 5}))
    assert f'reference_sha256 = "{reference_identity(data)["sha256"]}"' in capsys.readouterr().out
    protocol = load_protocol_file(protocol_file)
    read = load_reference(protocol, tmp_path, None, get_registry(), allow_mismatch=True)
    assert read.info["mismatch"] == {"selection_sha256": {"expected": "0" * 64,
                                                          "found": data.info["selection_sha256"]}}
