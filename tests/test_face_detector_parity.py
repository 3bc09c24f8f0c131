"""The browser's face detector (webapp/js/face_detector.js, in Node under the app's onnxruntime-web build) against
vitalens.regions.faces: the same faces, boxes and landmarks within 2 px, scores within 0.02, the aligned crop the
face model reads within a few grey levels, and NMS on random boxes identical. Exact pixel identity with OpenCV is
not asked for: the two ONNX runtimes differ in the last bits, which may move a refined box edge by a fraction."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vitalens.face_gate import face_gate
from vitalens.imaging import decode_image
from vitalens.regions.faces import align, detect_faces, nms
from vitalens.runtime import load_bundle
from vitalens.tasks.face_age_gender.regions import DETECT_MIN_PX, detector_sessions
from test_app_parity import assert_same_result

REPO = Path(__file__).resolve().parents[1]
FACES = REPO / "examples" / "faces"
BUNDLE = REPO / "src" / "vitalens" / "bundles" / "face-age-gender"
SKIN_BUNDLE = REPO / "src" / "vitalens" / "bundles" / "skin-condition"  # carries a face gate
NODE = shutil.which("node")
PIXELS = 2.0  # boxes and landmarks
SCORE = 0.02
GREY_LEVELS = 3.0  # mean absolute difference of the aligned crops

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs)"),
    pytest.mark.skipif(not (REPO / "node_modules" / "onnxruntime-web" / "dist" / "ort.wasm.min.mjs").is_file(),
                       reason="onnxruntime-web is not installed: run `npm ci` (or `make browser-deps`)"),
]


def _scene() -> np.ndarray:
    """A 960x1280 (width x height) photo: a smooth, noisy background with the astronaut's face pasted in at ~300 px,
    off-centre, so the pyramid has many levels and the face sits away from the edges."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:1280, 0:960]
    background = np.stack([90 + 60 * np.sin(xx / 150.0), 110 + 40 * np.cos(yy / 210.0), 120 + 30 * np.sin((xx + yy) / 300.0)], axis=2)
    scene = np.clip(background + rng.normal(0, 6, background.shape), 0, 255).astype(np.uint8)
    face = np.asarray(Image.open(FACES / "astronaut.jpg").convert("RGB").crop((130, 30, 320, 220)).resize((300, 300), Image.Resampling.BILINEAR))
    scene[420:720, 500:800] = face
    return scene


def _cases():
    yield "astronaut", decode_image(FACES / "astronaut.jpg").rgb
    yield "astronaut_face", decode_image(FACES / "astronaut_face.jpg").rgb
    yield "grey", np.full((400, 400, 3), 128, np.uint8)
    yield "scene", _scene()


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    folder = tmp_path_factory.mktemp("face-detector")
    bundle = load_bundle(BUNDLE)
    sessions, alignment = detector_sessions(bundle), bundle.manifest["alignment"]
    cases, expected = [], {}
    for name, rgb in _cases():
        (folder / f"{name}.rgb").write_bytes(np.ascontiguousarray(rgb).tobytes())
        faces = detect_faces(rgb, sessions, min_face=DETECT_MIN_PX)
        crop = align(rgb, faces[0].landmarks, np.asarray(alignment["template"]), int(alignment["side"])) if faces else None
        expected[name] = (faces, crop)
        cases.append({"name": name, "input": f"{name}.rgb", "width": rgb.shape[1], "height": rgb.shape[0], "minFace": DETECT_MIN_PX, "aligned": f"{name}.aligned"})
    rng = np.random.default_rng(0)
    nms_cases, nms_expected = [], []
    for i in range(30):
        n = int(rng.integers(1, 60))
        corner = rng.uniform(0, 200, (n, 2))
        boxes = np.concatenate([corner, corner + rng.uniform(5, 80, (n, 2))], axis=1)
        scores = np.round(rng.uniform(0, 1, n), 1 if i % 3 == 0 else 6)  # ties too: the stable order must agree
        threshold, by_min = (0.5, 0.7, 0.3)[i % 3], i % 2 == 1
        nms_cases.append({"boxes": np.concatenate([boxes, scores[:, None]], axis=1).tolist(), "threshold": threshold, "byMin": by_min})
        nms_expected.append(nms(boxes, scores, threshold, by_min).tolist())
    gate_cases = [{"name": c["name"], "input": c["input"], "width": c["width"], "height": c["height"]} for c in cases]
    skin = load_bundle(SKIN_BUNDLE)
    gate_expected = [face_gate(skin, rgb, name) for name, rgb in _cases()]
    (folder / "cases.json").write_text(json.dumps({"bundle": str(BUNDLE), "cases": cases, "nms": nms_cases,
                                                   "gate": {"bundle": str(SKIN_BUNDLE), "cases": gate_cases}}))
    done = subprocess.run([NODE, str(REPO / "tests" / "js" / "face_detector_steps.mjs"), str(folder)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout), expected, nms_expected, folder, gate_expected


def test_the_same_faces_boxes_and_landmarks(parity):
    got, expected, *_ = parity
    report = {}
    for name, (faces, _) in expected.items():
        js = got["faces"][name]
        assert len(js) == len(faces), (name, js, faces)
        box_gap = max((float(np.abs(np.array(j["box"]) - np.array(f.box)).max()) for j, f in zip(js, faces)), default=0.0)
        landmark_gap = max((float(np.abs(np.array(j["landmarks"]) - f.landmarks).max()) for j, f in zip(js, faces)), default=0.0)
        score_gap = max((abs(j["score"] - f.score) for j, f in zip(js, faces)), default=0.0)
        assert box_gap <= PIXELS and landmark_gap <= PIXELS and score_gap <= SCORE, (name, box_gap, landmark_gap, score_gap)
        report[name] = {"faces": len(faces), "max_box_diff_px": box_gap, "max_landmark_diff_px": landmark_gap, "max_score_diff": score_gap,
                        "js_ms": got["timings"][name]}
    assert len(expected["astronaut"][0]) >= 1 and len(expected["scene"][0]) == 1 and expected["grey"][0] == []
    scene = expected["scene"][0][0]
    ymin, xmin, ymax, xmax = scene.box  # the pasted face (about half the 300 px paste: the rest is hair and suit), where it was pasted
    assert scene.side >= 120 and 420 <= ymin < ymax <= 720 and 500 <= xmin < xmax <= 800, scene.box
    print(json.dumps(report, indent=1))


def test_the_aligned_crops_agree(parity):
    _, expected, _, folder, _ = parity
    for name, (faces, crop) in expected.items():
        if crop is None:
            continue
        js = np.frombuffer((folder / f"{name}.aligned").read_bytes(), np.uint8).reshape(crop.shape)
        gap = float(np.abs(js.astype(np.float64) - crop).mean())
        assert gap < GREY_LEVELS, (name, gap)


def test_nms_keeps_the_same_boxes_in_the_same_order(parity):
    got, _, nms_expected, *_ = parity
    assert got["nms"] == nms_expected


def test_the_skin_bundles_face_gate_refuses_the_same_photos(parity):
    """webapp/js/face_gate.js against vitalens.face_gate: the tight face crop is refused (the face fills it), the
    whole photo, the grey square and the scene are not, with the same words and fraction."""
    got = parity[0]["gated"]
    want = [None if p is None else p.to_json() for p in parity[4]]
    assert [w is not None for w in want] == [False, True, False, False]
    for js, py in zip(got, want):
        if py is None:
            assert js is None
            continue
        assert_same_result(js, py, lambda key, value: 0.002 if key == "face_fraction" else 0.0, py["image_id"])
