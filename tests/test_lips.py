"""Lips: file-name labels, the loader, camera metadata, extract (and its CLI command), the lip finder and
colour features."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import shared_dataset

from vitalens.colour import linear_to_srgb, srgb_to_linear
from vitalens.data import Problem, load_dataset
from vitalens.tasks.hb_lips import TASK
from vitalens.tasks.hb_lips.camera import META_COLUMNS, camera_fields, meta_row
from vitalens.tasks.hb_lips.data import LipLabel, load_lips, parse_lip_filename
from vitalens.tasks.hb_lips.extract import extract, extract_folder
from vitalens.tasks.hb_lips.lip_colour import LIP_COLOUR_FEATURES, NORMALISED_FEATURES, RAW_LIP_FEATURES, lip_colour_features
from vitalens.tasks.hb_lips.regions import find_lips
from vitalens.tasks.spec import resolve


def _data_folder(name: str) -> Path:
    return shared_dataset(name)


# --- file-name labels --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "hb", "person", "ethnicity", "index"),
    [
        ("HgB_12.0gdl_Individual02_1.jpg", 12.0, "Individual02", "unknown", 1),
        ("HgB_8.9gdl_Invividual02_01.jpg", 8.9, "Individual02", "unknown", 1),
        ("HgB_10.7gdl_Individual01.jpg", 10.7, "Individual01", "unknown", None),
        ("Random_7.8gdl_ChineseOrigin.jpg", 7.8, "Random_7.8gdl_ChineseOrigin", "Chinese", None),
        ("Random_11.6gdl_MiddleEasternOrigin.jpg", 11.6, "Random_11.6gdl_MiddleEasternOrigin", "Middle Eastern", None),
        ("Random_HgB_4.1gdl.jpg", 4.1, "Random_HgB_4.1gdl", "unknown", None),
        ("Random_HgB_7.0gdl_EthnicityUnknown.jpg", 7.0, "Random_HgB_7.0gdl_EthnicityUnknown", "unknown", None),
    ],
)
def test_label_patterns(name, hb, person, ethnicity, index):
    label = parse_lip_filename(name)
    assert isinstance(label, LipLabel), label
    assert (label.hb_g_dl, label.person, label.ethnicity, label.photo_index) == (hb, person, ethnicity, index)
    assert label.image_id == Path(name).stem


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("iphone_lips_1.heic", "no haemoglobin value"),
        ("HgB_Individual02_1.jpg", "no haemoglobin value"),
        ("HgB_99gdl_Individual01.jpg", "outside the plausible"),
        ("HgB_0.5gdl_Individual01.jpg", "outside the plausible"),
        ("HgB_12.0gdl.jpg", "no person"),
        ("HgB_12gdl_13gdl_Individual01.jpg", "several haemoglobin values"),
        ("HgB_12.0gdl_Individual01_copy.jpg", "not understood"),
        ("HgB_12.0gdl_Patient01.jpg", "not understood"),
    ],
)
def test_rejected_names_are_problems_with_a_reason(name, reason):
    problem = parse_lip_filename(name)
    assert isinstance(problem, Problem)
    assert reason in problem.reason and problem.source == name


def _write_jpeg(path: Path, colour=(200, 150, 130)) -> None:
    Image.fromarray(np.full((32, 48, 3), colour, np.uint8)).save(path)


def test_loader_groups_by_person_and_counts_problems(tmp_path):
    for name in ("HgB_12.0gdl_Individual02_1.jpg", "HgB_8.9gdl_Invividual02_01.jpg", "Random_HgB_4.1gdl.jpg", "Random_7.8gdl_ChineseOrigin.jpg", "notes_lips.jpg"):
        _write_jpeg(tmp_path / name)
    (tmp_path / "HgB_11.0gdl_Individual03_1.jpg").write_bytes(b"not an image")
    dataset = load_dataset(tmp_path, TASK, own_layout=True)
    assert sorted(dataset.groups()) == ["Individual02", "Individual02", "Random_7.8gdl_ChineseOrigin", "Random_HgB_4.1gdl"]
    assert sorted(Path(p.source).name for p in dataset.problems) == ["HgB_11.0gdl_Individual03_1.jpg", "notes_lips.jpg"]
    sample = next(s for s in dataset.samples if s.image_id == "Random_7.8gdl_ChineseOrigin")
    assert sample.targets == {"hb": 7.8}
    assert sample.attributes["ethnicity"] == "Chinese" and sample.attributes["device_brand"] == "unknown"


# --- camera metadata ---------------------------------------------------------------------------

IPHONE_FRONT = {
    "device_brand": "Apple",
    "device_model": "iPhone 15 Pro Max",
    "lens_model": "iPhone 15 Pro Max front TrueDepth camera 2.69mm f/1.9",
    "iso": 320,
    "exposure_time_s": 1 / 60,
    "white_balance": 0,
    "brightness_ev": 2.07,
}


def test_camera_fields_from_exif():
    fields = camera_fields(IPHONE_FRONT)
    assert fields == {
        "device_id": "apple-iphone-15-pro-max",
        "device_brand": "Apple",
        "device_model": "iPhone 15 Pro Max",
        "camera_type": "front",
        "iso_bucket": "medium",
        "exposure_bucket": "normal",
        "wb_bucket": "auto",
        "ambient_light": "indoor",
    }


def test_camera_buckets_at_their_edges_and_light_from_exposure():
    exif = {"device_brand": "SAMSUNG", "lens_model": "rear wide", "iso": 200, "exposure_time_s": 0.25, "white_balance": 1, "f_number": 1.8}
    fields = camera_fields(exif)
    assert fields["device_brand"] == "Samsung" and fields["camera_type"] == "back"
    assert (fields["iso_bucket"], fields["exposure_bucket"], fields["wb_bucket"]) == ("low", "long", "manual")
    # log2(1.8^2 / 0.25) - log2(200 / 100) = 2.7 EV: dim.
    assert fields["ambient_light"] == "dim"
    assert fields["device_id"] == "unknown"  # no model, so no device id


def test_missing_metadata_is_unknown_never_invented():
    row = meta_row("x", {})
    assert tuple(row) == META_COLUMNS
    assert all(value == "unknown" for key, value in row.items() if key != "image_id")


# --- lip finder and colour features --------------------------------------------------------------

SKIN = (214, 170, 140)
LIP = (190, 95, 100)


def _face_like(height=300, width=400, lip=LIP, skin=SKIN, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = skin
    cv2.ellipse(image, (width // 2, int(height * 0.6)), (70, 24), 0, 0, 360, lip, -1)
    noise = rng.normal(0, 3, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def _area(box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def _iou(a, b) -> float:
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / (_area(a) + _area(b) - inter)


def test_finds_a_red_ellipse_on_skin():
    finding = find_lips(_face_like())
    assert finding.region is not None, finding.reason
    assert _iou(finding.region.box, (156, 130, 205, 271)) > 0.6
    assert finding.region.method == "colour" and finding.region.confidence > 0.5
    skin = finding.region.skin_box
    box = finding.region.box
    assert skin[0] <= box[0] and skin[1] <= box[1] and skin[2] >= box[2] and skin[3] >= box[3]


def test_cut_out_lips_on_black_have_no_skin_reference():
    image = np.zeros((200, 400, 3), np.uint8)
    cv2.ellipse(image, (200, 100), (170, 60), 0, 0, 360, LIP, -1)
    image = np.clip(image + np.random.default_rng(1).normal(0, 3, image.shape) * (image > 0), 0, 255).astype(np.uint8)
    region = find_lips(image).region
    assert region is not None and region.method == "cut-out" and region.skin_box is None
    assert _iou(region.box, (40, 30, 161, 371)) > 0.8


@pytest.mark.parametrize("fill", [(0, 0, 0), (255, 255, 255), (128, 128, 128), SKIN])
def test_blank_images_have_no_lips(fill):
    finding = find_lips(np.full((120, 160, 3), fill, np.uint8))
    assert finding.region is None and finding.reason


def test_normalised_features_cancel_a_colour_cast_that_raw_features_see():
    image = _face_like()
    region = find_lips(image).region
    warm_light = srgb_to_linear(image / 255.0) * np.array([1.0, 0.8, 0.55])
    cast = (linear_to_srgb(warm_light) * 255 + 0.5).astype(np.uint8)
    plain = lip_colour_features(image, region.box, region.skin_box)
    warm = lip_colour_features(cast, region.box, region.skin_box)
    index = {name: i for i, name in enumerate(LIP_COLOUR_FEATURES)}
    raw_change = max(abs(warm[index[f]] - plain[index[f]]) for f in ("lip_log_g", "lip_log_b"))
    ratio_change = max(abs(warm[index[f]] - plain[index[f]]) for f in ("ratio_log_r", "ratio_log_g", "ratio_log_b"))
    assert plain[index["delta_a"]] > 10  # lips redder than skin
    assert raw_change > 0.2 and ratio_change < 0.05


def test_features_without_skin_reference_are_nan_only_where_normalised():
    image = _face_like()
    region = find_lips(image).region
    features = lip_colour_features(image, region.box, None)
    index = {name: i for i, name in enumerate(LIP_COLOUR_FEATURES)}
    assert np.isfinite([features[index[f]] for f in RAW_LIP_FEATURES]).all()
    assert np.isnan([features[index[f]] for f in NORMALISED_FEATURES]).all()


# --- extract on the real folders ---------------------------------------------------------------

def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_extract_parses_every_starter_photo(tmp_path):
    report = extract_folder(_data_folder("lips-starter/images"), tmp_path)
    assert report.images == 19 and len(report.labels) == 19 and not report.problems
    labels = _read(tmp_path / "labels.csv")
    assert len(labels) == 19 and len({row["person"] for row in labels}) == 10
    assert sum(row["person"] == "Individual02" for row in labels) == 6  # incl. the 'Invividual02' photos
    combined = _read(tmp_path / "combined_data.csv")
    assert len(combined) == 19 and set(META_COLUMNS) <= set(combined[0])
    assert _read(tmp_path / "problems.csv") == []


def test_extract_reads_iphone_metadata_from_heic(tmp_path):
    report = extract_folder(_data_folder("heic-samples"), tmp_path)
    meta = _read(tmp_path / "meta.csv")
    assert len(meta) == 3 and all("iPhone" in row["device_model"] for row in meta)
    assert all(row["camera_type"] == "front" and row["device_brand"] == "Apple" for row in meta)
    assert all(row["age_band"] == "unknown" and row["gender"] == "unknown" for row in meta)
    assert report.labels == [] and len(report.problems) == 3  # no label in their names: reported, not guessed
    assert all("no haemoglobin value" in p.reason for p in report.problems)


def test_loader_on_starter_folder():
    dataset = load_lips(_data_folder("lips-starter/images"))
    assert len(dataset) == 19 and len(set(dataset.groups())) == 10 and not dataset.problems


# --- the extract command -------------------------------------------------------------------------

def test_the_task_declares_extract_and_the_mouth_check_as_its_commands():
    extract_reference, check_reference = TASK.commands
    assert resolve(extract_reference) is extract and extract_reference.endswith(":extract")
    assert check_reference.endswith(":train_lip_check") and callable(resolve(check_reference))


def test_extract_command_writes_the_tables_and_prints_file_names_literally(tmp_path):
    from typer.testing import CliRunner

    from vitalens.cli import app

    photos = tmp_path / "photos"
    photos.mkdir()
    _write_jpeg(photos / "HgB_12.0gdl_Individual02_1.jpg")
    _write_jpeg(photos / "[red]x.jpg")  # no label; a name that rich would read as markup
    result = CliRunner().invoke(app, ["extract", "--data", str(photos), "--out", str(tmp_path / "tables")], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "[red]x.jpg: unlabelled" in result.output and "[red]x " in result.output  # the problem line and the table row
    assert [row["image_id"] for row in _read(tmp_path / "tables" / "labels.csv")] == ["HgB_12.0gdl_Individual02_1"]
    assert len(_read(tmp_path / "tables" / "meta.csv")) == 2


def test_extract_command_on_a_missing_folder_exits_2(tmp_path):
    from typer.testing import CliRunner

    from vitalens.cli import app

    result = CliRunner().invoke(app, ["extract", "--data", str(tmp_path / "absent"), "--out", str(tmp_path / "tables")], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and "not a folder" in result.output
