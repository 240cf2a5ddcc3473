"""Captioned data: the shapes generator, COCO and folder/JSONL adapters, bad input, the COCO protocols."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from genbench.cli import main
from genbench.datasets.base import DataRequest
from genbench.datasets.captioned import DecodedFiles, decode_image, decode_images
from genbench.datasets.captioned_folder import load_captioned_folder
from genbench.datasets.coco import load_coco, select_captions, selection_sha256
from genbench.datasets.shapes import COLOURS, POSITIONS, SHAPES, load_shapes_split
from genbench.errors import DataError, WeightsError
from genbench.extractors.feature_pass import extract_features
from genbench.extractors.inception import INCEPTION
from genbench.protocols.protocol import builtin_protocol_files, load_protocol_file
from genbench.registry import load_registry


def write_png(path, seed: int, size=(20, 12)) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)


def test_shapes_are_deterministic_and_captions_describe_them():
    first = load_shapes_split(DataRequest("test", 32, 3, options={"test_size": 40}))
    again = load_shapes_split(DataRequest("test", 32, 3, options={"test_size": 10}))
    train = load_shapes_split(DataRequest("train", 32, 3, options={"train_size": 10}))
    assert first.images.shape == (40, 3, 32, 32) and first.images.dtype == torch.uint8
    assert torch.equal(first.images[:10], again.images) and first.captions[:10] == again.captions
    assert not torch.equal(first.images[:10], train.images)
    for caption, label in zip(first.captions, first.labels.tolist()):
        colour, rest = divmod(label, len(SHAPES) * len(POSITIONS))
        shape, position = divmod(rest, len(POSITIONS))
        words = caption.split()
        assert words[0] == "a" and words[1] in ("small", "large")
        assert (words[2], words[3], " ".join(words[4:])) == (list(COLOURS)[colour], SHAPES[shape],
                                                              list(POSITIONS)[position])
    grey = load_shapes_split(DataRequest("test", 16, 1, options={"test_size": 3}))
    assert grey.images.shape == (3, 1, 16, 16)


def test_shapes_draw_the_colour_where_the_caption_says():
    data = load_shapes_split(DataRequest("test", 32, 3, options={"test_size": 60}))
    for image, caption in zip(data.images, data.captions):
        if "large red" in caption and ("left" in caption or "right" in caption):
            red = (image[0].int() - image[1].int() > 100).float()
            column = (red.sum(0) * torch.arange(32)).sum() / red.sum()
            assert (column < 16) == ("left" in caption)


def test_jsonl_folder_counts_empty_captions_and_bad_images(tmp_path):
    (tmp_path / "img").mkdir()
    for i in range(4):
        write_png(tmp_path / "img" / f"{i}.png", i)
    (tmp_path / "img" / "broken.png").write_bytes(b"\x89PNG not really")
    lines = [{"image": f"img/{i}.png", "caption": f"caption {i}"} for i in range(4)]
    lines += [{"image": "img/broken.png", "caption": "broken"}, {"image": "img/0.png", "caption": "   "}]
    (tmp_path / "test.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    request = DataRequest("test", 8, 3, root=tmp_path, options={"max_bad_image_share": 0.25})
    data = load_captioned_folder(request)
    assert data.images.shape == (4, 3, 8, 8)
    assert data.captions == ["caption 0", "caption 1", "caption 2", "caption 3"]
    assert (data.info["empty_captions_dropped"], data.info["images_failed_to_decode"]) == (1, 1)
    assert data.info["failed_files"] == ["broken.png"]
    with pytest.raises(DataError) as error:
        load_captioned_folder(DataRequest("test", 8, 3, root=tmp_path, options={"max_bad_image_share": 0.1}))
    assert str(error.value) == (f"{tmp_path / 'test.jsonl'}: 1 of 5 images failed to decode (e.g. broken.png), "
                                f"more than the protocol's max_bad_image_share 0.1")


def test_threaded_decoding_keeps_the_order_and_every_pixel(tmp_path):
    paths = []
    for i in range(7):
        paths.append(tmp_path / f"{i}.png")
        write_png(paths[-1], i, size=(30 + i, 20))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    paths.insert(3, tmp_path / "bad.png")
    serial = list(decode_images(paths, 12, 3, workers=1))
    threaded = list(decode_images(paths, 12, 3, workers=3, chunk=2))
    assert [a is None for a in threaded] == [i == 3 for i in range(8)]
    assert all(b is None if a is None else np.array_equal(a, b) for a, b in zip(serial, threaded))
    assert np.array_equal(threaded[0], decode_image(paths[0], 12, 3)) and threaded[0].shape == (12, 12, 3)


def test_captioned_sets_keep_files_not_pixels_and_decode_on_indexing(tmp_path):
    (tmp_path / "img").mkdir()
    lines = []
    for i in range(5):
        write_png(tmp_path / "img" / f"{i}.png", i, size=(16 + i, 12))
        lines.append({"image": f"img/{i}.png", "caption": f"caption {i}"})
    (tmp_path / "test.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    data = load_captioned_folder(DataRequest("test", 8, 3, root=tmp_path))
    assert isinstance(data.images, DecodedFiles) and data.images.shape == (5, 3, 8, 8) and len(data) == 5
    expected = torch.stack([torch.from_numpy(decode_image(tmp_path / "img" / f"{i}.png", 8, 3)).permute(2, 0, 1)
                            for i in range(5)])
    pixels = data.pixels()
    assert pixels.dtype == torch.uint8 and torch.equal(pixels, expected)
    assert torch.equal(data.images[1:4], expected[1:4]) and torch.equal(data.images[2], expected[2])
    assert torch.equal(data.images[np.int64(-1)], expected[-1]) and torch.equal(data.images[[0, 1]], expected[:2])
    assert torch.equal(data.images[torch.tensor([4, 0, 4])], expected[[4, 0, 4]])
    features = extract_features({"mean": MeanColour()}, data.images, data.captions, chunk=2)
    assert torch.equal(features["mean/rgb"], extract_features({"mean": MeanColour()}, expected, None, 2)["mean/rgb"])
    (tmp_path / "img" / "3.png").write_bytes(b"overwritten")
    with pytest.raises(DataError, match=r"3.png: failed to decode, though it decoded when the data set was loaded"):
        data.images[2:5]


class MeanColour:
    """A feature extractor as small as can be: each image's mean per channel."""

    def extract(self, images, captions=None):
        return {"rgb": images.double().mean((2, 3))}


def test_sidecar_folder_and_bad_utf8(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    write_png(folder / "a.png", 0)
    (folder / "a.txt").write_text("a small red circle\n", encoding="utf-8")
    write_png(folder / "b.png", 1)
    (folder / "b.txt").write_bytes("caf\u00e9 ".encode() + b"\xff\xfe broken")
    with pytest.raises(DataError) as error:
        load_captioned_folder(DataRequest("train", 8, 3, root=tmp_path))
    assert str(error.value) == f"{folder / 'b.txt'}: not valid UTF-8 at byte offset 6 (invalid start byte)"
    (folder / "b.txt").write_text("two dogs", encoding="utf-8")
    data = load_captioned_folder(DataRequest("train", 8, 1, root=tmp_path))
    assert data.captions == ["a small red circle", "two dogs"] and data.images.shape == (2, 1, 8, 8)
    write_png(folder / "c.png", 2)
    with pytest.raises(DataError, match=r"1 images have no caption file \(e.g. c.png needs c.txt\)"):
        load_captioned_folder(DataRequest("train", 8, 3, root=tmp_path))


def test_malformed_jsonl_line_names_file_and_line(tmp_path):
    (tmp_path / "val.jsonl").write_text('{"image": "x.png", "caption": "ok"}\n{"image": "y.png"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"val.jsonl:2: expected \{\"image\": ..., \"caption\": ...\} \(KeyError"):
        load_captioned_folder(DataRequest("val", 8, 3, root=tmp_path))
    with pytest.raises(DataError, match=r"captioned-folder split 'test' not found: expected .*test.jsonl"):
        load_captioned_folder(DataRequest("test", 8, 3, root=tmp_path))


def make_coco(root, images: int = 12, captions_per_image: int = 3):
    """A tiny COCO-layout folder: annotations/captions_val2014.json and val2014/*.jpg."""
    (root / "coco" / "annotations").mkdir(parents=True)
    (root / "coco" / "val2014").mkdir()
    entries, annotations = [], []
    for i in range(images):
        name = f"COCO_val2014_{i + 100:012d}.jpg"
        Image.fromarray(np.full((30, 40, 3), 10 * i, dtype=np.uint8)).save(root / "coco" / "val2014" / name)
        entries.append({"id": i + 100, "file_name": name})
        for j in range(captions_per_image):
            annotations.append({"id": 1000 * i + j, "image_id": i + 100, "caption": f"image {i} caption {j}"})
    annotations.append({"id": 99999, "image_id": 100, "caption": ""})
    (root / "coco" / "annotations" / "captions_val2014.json").write_text(
        json.dumps({"images": entries, "annotations": annotations}), encoding="utf-8")


def test_coco_seeded_selection_is_stable(tmp_path):
    make_coco(tmp_path)
    options = {"num_captions": 5, "selection_seed": 0}
    data = load_coco(DataRequest("val", 16, 3, root=tmp_path, options=options))
    annotations = json.loads((tmp_path / "coco" / "annotations" / "captions_val2014.json").read_text())
    selection = select_captions(annotations, 5, 0)
    assert selection == select_captions(annotations, 5, 0)
    assert [image_id for image_id, _, _ in selection] == sorted({image_id for image_id, _, _ in selection})
    assert data.captions == [caption for _, _, caption in selection]
    assert data.info["selection_sha256"] == selection_sha256(selection)
    # image i is filled with grey 10*i, so each picture is the one its caption belongs to
    for image, caption in zip(data.images, data.captions):
        assert int(image.float().mean().round()) == 10 * int(caption.split()[1])
    assert selection != select_captions(annotations, 5, 1)
    with pytest.raises(DataError, match=r"the seeded caption selection hashes to [0-9a-f]{16}\.\.\., the protocol pins"):
        load_coco(DataRequest("val", 16, 3, root=tmp_path, options={**options, "selection_sha256": "0" * 64}))


def test_coco_selection_rule_pinned():
    """The rule itself is pinned: a synthetic annotation set always selects the same caption ids."""
    annotations = {"annotations": [{"id": 10 * i + j, "image_id": i, "caption": f"c{i}{j}"}
                                   for i in range(50) for j in range(5)]}
    selection = select_captions(annotations, 6, 0)
    assert selection_sha256(selection) == selection_sha256(select_captions(annotations, 6, 0))
    assert [caption_id for _, caption_id, _ in selection] == [24, 122, 153, 244, 293, 383]


def test_coco_missing_offline_names_layout_and_source(tmp_path):
    with pytest.raises(DataError) as error:
        load_coco(DataRequest("val", 16, 3, root=tmp_path, options={"year": 2014}))
    root = tmp_path / "coco"
    assert str(error.value) == (
        f"COCO val2014 not found under {root} and downloads are off: expected annotations/captions_val2014.json "
        f"(from http://images.cocodataset.org/annotations/annotations_trainval2014.zip), val2014/*.jpg "
        f"(from http://images.cocodataset.org/zips/val2014.zip); unzip them there or pass --data-dir")


def write_coco_annotations(root, content) -> Path:
    """``coco/annotations/captions_val2014.json`` holding ``content`` (JSON-encoded), beside an empty ``val2014/``."""
    (root / "coco" / "annotations").mkdir(parents=True)
    (root / "coco" / "val2014").mkdir()
    path = root / "coco" / "annotations" / "captions_val2014.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


IMAGE = {"id": 1, "file_name": "a.jpg"}
CAPTION = {"id": 7, "image_id": 1, "caption": "a cat"}


@pytest.mark.parametrize(("content", "problem"), [
    ([IMAGE], "the file holds a list, expected an object"),
    ({"images": [IMAGE]}, "no key 'annotations'"),
    ({"annotations": [CAPTION]}, "no key 'images'"),
    ({"images": {"1": IMAGE}, "annotations": [CAPTION]}, "'images' is an object, expected a list"),
    ({"images": [IMAGE], "annotations": [CAPTION, "a dog"]}, "annotations[1] is a string, expected an object"),
    ({"images": [IMAGE], "annotations": [{"id": 8, "image_id": 1}]}, "no key 'caption' in annotations[0]"),
    ({"images": [IMAGE], "annotations": [{**CAPTION, "caption": 5}]},
     "annotations[0].caption is a number, expected a string"),
    ({"images": [{**IMAGE, "id": "1"}], "annotations": [CAPTION]}, "images[0].id is a string, expected an integer"),
    ({"images": [IMAGE], "annotations": [{**CAPTION, "image_id": True}]},
     "annotations[0].image_id is a boolean, expected an integer"),
    ({"images": [IMAGE], "annotations": [CAPTION, {**CAPTION, "image_id": 2}]},
     "annotations[1].image_id 2 is the id of no entry in 'images'"),
])
def test_coco_annotations_of_the_wrong_shape_are_one_line_naming_file_and_key(tmp_path, content, problem):
    path = write_coco_annotations(tmp_path, content)
    with pytest.raises(DataError) as error:
        load_coco(DataRequest("val", 16, 3, root=tmp_path))
    assert str(error.value) == f"{path}: not a COCO captions file: {problem}"


@pytest.fixture
def coco_downloads(monkeypatch):
    """Downloads allowed; COCO's archive downloads are recorded instead of made (and bring nothing)."""
    monkeypatch.delenv("GENBENCH_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    calls = []
    monkeypatch.setattr("torchvision.datasets.utils.download_and_extract_archive",
                        lambda url, download_root, **kwargs: calls.append((url, download_root)))
    return calls


def test_coco_never_downloads_into_a_data_dir(tmp_path, coco_downloads):
    with pytest.raises(DataError) as error:
        load_coco(DataRequest("val", 16, 3, root=tmp_path / "data", options={"year": 2014}))
    assert str(error.value).startswith(f"COCO val2014 not found under {tmp_path / 'data' / 'coco'} and --data-dir is "
                                       f"only read, never downloaded into: expected annotations/captions_val2014.json")
    assert coco_downloads == [] and not (tmp_path / "data").exists()


def test_coco_downloads_go_to_the_cache(tmp_path, coco_downloads):
    with pytest.raises(DataError, match="the downloaded archives did not contain it"):
        load_coco(DataRequest("val", 16, 3, options={"year": 2014}))
    root = str(tmp_path / "cache" / "data" / "coco")  # GENBENCH_CACHE is tmp_path/cache (conftest)
    assert coco_downloads == [("http://images.cocodataset.org/annotations/annotations_trainval2014.zip", root),
                              ("http://images.cocodataset.org/zips/val2014.zip", root)]


def test_coco_protocols_parse_to_the_inception_contract(tmp_path):
    files = {p.stem: p for p in builtin_protocol_files()}
    coco5k, coco30k = load_protocol_file(files["coco5k"]), load_protocol_file(files["coco30k"])
    assert coco5k.extractors["inception"] == {"kind": "inception", "features": ["2048", "logits_unbiased"]}
    # the inception extractor accepts these settings and goes looking for torch-fidelity's weights file
    context = SimpleNamespace(device=torch.device("cpu"), weights_dir=tmp_path, trust_weights=False)
    for protocol in (coco5k, coco30k):
        settings = {k: v for k, v in protocol.extractors["inception"].items() if k != "kind"}
        with pytest.raises(WeightsError, match=r"^weights file 'weights-inception-2015-12-05-6726825d.pth' not found"):
            INCEPTION.build(settings, context)
    assert {(m.key, m.extractor, m.feature) for m in coco5k.metrics} == {
        ("fid", "inception", "2048"), ("is", "inception", "logits_unbiased"), ("clip_score", "clip", "image")}
    assert (coco5k.data.image_size, coco5k.data.options["num_captions"], coco5k.sampling.num_samples) == (128, 5000, 5000)
    assert len(coco5k.prompts) == 6 and coco5k.gallery_samples == 8
    assert (coco30k.data.image_size, coco30k.data.options["num_captions"], coco30k.sampling.num_samples) == (256, 30000, 30000)
    assert {m.feature for m in coco30k.metrics} == {"2048", "image"}
    registry = load_registry()
    assert {"coco5k", "coco30k", "shapes"} <= set(registry.protocols)
    assert {"coco", "captioned-folder", "shapes"} <= set(registry.datasets)


def test_bad_caption_file_stops_the_command_with_one_line(tmp_path, capsys):
    folder = tmp_path / "data" / "test"
    folder.mkdir(parents=True)
    write_png(folder / "a.png", 0)
    (folder / "a.txt").write_bytes(b"a red \xc3(circle")
    shapes = next(p for p in builtin_protocol_files() if p.stem == "shapes").read_text(encoding="utf-8")
    mine = tmp_path / "mine.toml"
    shapes = shapes.replace("train_size = 4000\n", "").replace("test_size = 1000\n", "")  # shapes-only settings
    mine.write_text(shapes.replace('dataset = "shapes"', f'dataset = "captioned-folder"\npath = "{tmp_path / "data"}"'),
                    encoding="utf-8")
    assert main(["reference", "--protocol", str(mine), "--results-dir", str(tmp_path / "results")]) == 2
    assert capsys.readouterr().err == (f"genbench: error: {folder / 'a.txt'}: not valid UTF-8 at byte offset 6 "
                                       f"(invalid continuation byte)\n")
    assert list((tmp_path / "results").glob("*.json")) == []
