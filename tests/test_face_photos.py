"""Faces in ordinary photos (issue 20), on the shipped bundle: the seed's ONNX contract read by a client
written exactly like the seed card's example, refusals of photos with no usable face, and the pose limits."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from conftest import shared_dataset

from vitalens.imaging import decode_image
from vitalens.regions.faces import Face, align
from vitalens.runtime import load_predictor, predict_one
from vitalens.tasks.face_age_gender import TASK
from vitalens.tasks.face_age_gender.data import split_of
from vitalens.tasks.face_age_gender.regions import MAX_TILT_DEG, MAX_TURN, FaceRegionError, choose_face, pose

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
N_CROPS = 40


@pytest.fixture(scope="module")
def predictor():
    return load_predictor(None, TASK.name)


def seed_client(model_path: Path, image_path: Path) -> tuple[str, int]:
    """The seed card's example client, as written there: cv2 resize to 112, / 255, NCHW, argmax == 1 is male."""
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    image = cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2RGB)
    image = cv2.resize(image, (112, 112)).astype(np.float32) / 255.0
    output = session.run(["output"], {"input": image.transpose(2, 0, 1)[None]})[0]
    gender_logits, age = output[0][:2], output[0][2]
    return ("Male" if np.argmax(gender_logits) == 1 else "Female"), int(age * 100)


def _aligned_crops(predictor, tmp_path: Path) -> list[tuple[Path, dict]]:
    """Each photo's face aligned at the model's input side (112 px), written as a PNG, with the bundle's
    estimate on that crop. At 112 px the seed client's cv2.resize is the identity, so any difference is the
    compat graph's (at the runtime's 200 px, cv2's resize alone, without antialiasing, moves ages by about a year)."""
    photos = [EXAMPLES / "faces" / "astronaut.jpg", EXAMPLES / "faces" / "astronaut_face.jpg"]
    try:
        utkface = shared_dataset("utkface/images")
        held_out = sorted(p for p in utkface.glob("*.jpg*") if split_of(p.name) == "test")
        photos += held_out[:: max(1, len(held_out) // N_CROPS)][:N_CROPS]
    except pytest.skip.Exception:
        pass  # the two examples still test the contract without ../shared
    crops, template = [], np.asarray(predictor.manifest["alignment"]["template"])
    for k, photo in enumerate(photos):
        rgb = decode_image(photo).rgb
        try:
            _, face = predictor.locate(rgb)
        except FaceRegionError:
            continue
        crop = align(rgb, face.landmarks, template, predictor.size)
        path = tmp_path / f"crop_{k}.png"
        cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        crops.append((path, predictor.predict_crops([decode_image(path).rgb])[0]))
    return crops


def test_a_client_written_like_the_seed_card_reads_the_compat_stage_as_the_bundle(predictor, tmp_path):
    compat = predictor.bundle.path / predictor.bundle.manifest["compat"]["file"]
    crops = _aligned_crops(predictor, tmp_path)
    assert len(crops) >= 2
    for path, estimate in crops:
        gender, age = seed_client(compat, path)
        assert gender.lower() == estimate["predicted_gender"], (path, gender, estimate)
        assert abs(age - estimate["predicted_age"]) <= 1.0, (path, age, estimate)


@pytest.mark.parametrize("name", ["grey", "nails"])
def test_a_grey_square_and_a_nail_photo_get_no_age(predictor, name):
    rgb = np.full((200, 200, 3), 128, np.uint8) if name == "grey" else decode_image(EXAMPLES / "nails" / "yakimov2024_65.png").rgb
    prediction = predict_one(predictor, rgb, f"{name}.png")
    assert prediction.status == "refused" and "predicted_age" not in prediction.columns and prediction.message


def test_the_full_astronaut_photo_is_read_through_the_detector(predictor):
    prediction = predictor.predict_image(decode_image(EXAMPLES / "faces" / "astronaut.jpg").rgb, "astronaut.jpg")
    assert prediction.ok and 0 <= prediction.columns["predicted_age"] <= 120
    ymin, xmin, ymax, xmax = prediction.details["face_box"]
    for x, y in prediction.details["landmarks"]:  # the 5 landmarks lie inside the face box
        assert xmin <= x <= xmax and ymin <= y <= ymax


def _face(tilt_deg: float = 0.0, turn: float = 0.0, side: float = 120.0) -> Face:
    """A face whose eye line is tilted by `tilt_deg` and whose nose sits `turn` eye distances off centre."""
    c, s = np.cos(np.radians(tilt_deg)), np.sin(np.radians(tilt_deg))
    points = np.array([[-20, -15], [20, -15], [40 * turn, 5], [-15, 25], [15, 25]], float)
    points = points @ np.array([[c, s], [-s, c]]) + 200
    return Face((200 - side / 2, 200 - side / 2, 200 + side / 2, 200 + side / 2), 0.99, points)


def test_pose_measures_tilt_and_turn_apart():
    tilt, turn = pose(_face(tilt_deg=20, turn=0.1))
    assert tilt == pytest.approx(20, abs=1e-6) and turn == pytest.approx(0.1, abs=1e-6)


@pytest.mark.parametrize(
    "face, reason",
    [
        (_face(tilt_deg=MAX_TILT_DEG + 5), "tilted"),
        (_face(turn=MAX_TURN + 0.1), "turned to the side"),
        (_face(side=50), "under the 64 px"),
    ],
)
def test_a_tilted_turned_or_small_face_is_refused_with_a_tip(face, reason):
    with pytest.raises(FaceRegionError) as caught:
        choose_face([face])
    assert reason in caught.value.reason and caught.value.tip
    assert choose_face([_face(tilt_deg=MAX_TILT_DEG - 5, turn=MAX_TURN - 0.1)])  # inside the limits it is read


def test_the_browser_is_not_sent_the_compat_copy_of_the_model(predictor):
    files = predictor.bundle.files(browser=True)
    assert predictor.bundle.manifest["compat"]["file"] in predictor.bundle.files() and predictor.bundle.manifest["compat"]["file"] not in files
    assert {"model.onnx", "detector_pnet.onnx", "detector_rnet.onnx", "detector_onet.onnx"} <= set(files)


def test_the_age_interval_widens_with_the_age_band_and_never_leaves_0_to_120_years():
    from vitalens.tasks.face_age_gender.age_interval import EDGES, interval

    block = {"bin_edges": EDGES, "bin_half_widths": [3.0, 6.0, 9.0, 12.0, 15.0]}
    low, high = interval(np.array([2.0, 25.0, 40.0, 60.0, 115.0]), block)
    assert low.tolist() == [0.0, 19.0, 31.0, 48.0, 100.0] and high.tolist() == [5.0, 31.0, 49.0, 72.0, 120.0]


def test_every_answered_face_carries_its_interval(predictor):
    assert "age_interval" in predictor.manifest, "the shipped bundle has no age interval: run age_interval --write"
    prediction = predictor.predict_image(decode_image(EXAMPLES / "faces" / "astronaut.jpg").rgb, "astronaut.jpg")
    columns = prediction.columns
    assert 0 <= columns["age_low"] < columns["predicted_age"] < columns["age_high"] <= 120
    assert list(columns) == list(predictor.columns)


def test_an_unknown_face_choice_is_an_option_error_not_a_bundle_error():
    from vitalens.tasks import TaskError

    with pytest.raises(TaskError, match="face: 'biggest' is not one of one, largest"):
        load_predictor(None, TASK.name, {"face": "biggest"})
    assert load_predictor(None, TASK.name, {"face": "largest"}).face == "largest"
