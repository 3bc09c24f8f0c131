"""The browser's lips mode (webapp/js/hb_lips.js behind the spine's screen.js) answers as the Python runtime
does: the same keys in the same order, the same refusals (lip finder, mouth check, plausibility), numbers
within HB_TOLERANCE, on real lip photos, faces, a grey square and a nail photo."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from test_app_parity import HB_TOLERANCE, ORT_WEB, assert_same_result
from vitalens.data.shared import find_shared_dataset
from vitalens.imaging import decode_image
from vitalens.runtime import load_predictor, predict_one

REPO = Path(__file__).resolve().parents[1]
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None or not ORT_WEB.is_file(), reason="node or onnxruntime-web is not installed (`npm ci`)")
LIP_GATE = ("lips ", "the red region found does not look like a mouth")  # the mouth check's two refusals
MAX_WEB_IR = 13  # the newest ONNX IR version onnxruntime-web 1.30 (the browser's runtime) reads


def _web_readable_copy(bundle: Path, folder: Path) -> Path:
    """The bundle with each stage's IR version lowered to what onnxruntime-web reads (the graphs unchanged), so
    the port's parity is measured even while a shipped stage is written with too new an IR version
    (test_every_browser_stage_loads_in_onnxruntime_web reports that on its own)."""
    onnx = pytest.importorskip("onnx")

    copy = folder / "bundle"
    shutil.copytree(bundle, copy)
    for path in copy.glob("*.onnx"):
        graph = onnx.load(str(path))
        if graph.ir_version > MAX_WEB_IR:
            graph.ir_version = 10
            onnx.save(graph, str(path))
    return copy


def test_every_browser_stage_loads_in_onnxruntime_web():
    """The app's runtime.js opens the bundle's files as they are shipped: an IR version over MAX_WEB_IR fails there."""
    onnx = pytest.importorskip("onnx")

    predictor = load_predictor(None, "hb-lips")
    manifest = predictor.bundle.manifest
    too_new = {stage: onnx.load(str(predictor.bundle.path / manifest[stage]["file"]), load_external_data=False).ir_version
               for stage in ("model", "lip_check") if stage in manifest}  # fmt: skip
    too_new = {stage: ir for stage, ir in too_new.items() if ir > MAX_WEB_IR}
    assert not too_new, (f"hb-lips stages {too_new} have ONNX IR versions onnxruntime-web cannot read (<= {MAX_WEB_IR}): "
                         "re-export the bundle with the ir_version lowered, as hb_conjunctiva/export.py does")  # fmt: skip


def _cases() -> list[tuple[str, np.ndarray, dict]]:
    cases = [("grey.png", np.full((200, 200, 3), 128, np.uint8), {}),
             ("astronaut.jpg", decode_image(REPO / "examples" / "faces" / "astronaut.jpg").rgb, {}),
             ("astronaut_face.jpg", decode_image(REPO / "examples" / "faces" / "astronaut_face.jpg").rgb, {"sex": "female"}),
             ("nail.png", decode_image(REPO / "examples" / "nails" / "yakimov2024_65.png").rgb, {})]  # fmt: skip
    root = find_shared_dataset("lips-starter")
    if root is not None:  # real lip photos: close-ups, partial faces, cut-outs; several sizes (one an integer 4x shrink)
        people = [{}, {"age_years": 30, "sex": "male"}, {"sex": "female"}]
        cases += [(p.name, decode_image(p).rgb, people[i % 3]) for i, p in enumerate(sorted((root / "images").glob("*.jpg")))]
    # other body sites large enough to reach the learned mouth check (a conjunctiva, nails, skin lesions)
    for dataset, names in (("cp-anemic", ("Anemic/Image_002.png", "Anemic/Image_005.png")), ("yakimov2024", ("photo/107.jpg",)),
                           ("fitzpatrick17k-ajl", ("images/000e8dd5ee75dd6668e978e7a4e6fe54.jpg", "images/0041c7551e027def40cf81ab8fe14a36.jpg"))):  # fmt: skip
        root = find_shared_dataset(dataset)
        cases += [(f"{dataset}/{name}", decode_image(root / name).rgb, {}) for name in names if root is not None and (root / name).is_file()]
    return cases


def _max_difference(got, want) -> float:
    """The largest absolute difference between the numbers of two results of the same shape."""
    if isinstance(want, dict):
        return max((_max_difference(got[k], v) for k, v in want.items()), default=0.0)
    if isinstance(want, list):
        return max((_max_difference(g, w) for g, w in zip(got, want)), default=0.0)
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        return abs(got - want)
    return 0.0


def test_browser_mode_matches_the_python_runtime(tmp_path):
    predictor = load_predictor(None, "hb-lips")
    cases = _cases()
    listed = []
    for i, (image_id, rgb, population) in enumerate(cases):
        (tmp_path / f"{i}.rgb").write_bytes(np.ascontiguousarray(rgb).tobytes())
        listed.append({"image_id": image_id, "input": f"{i}.rgb", "height": rgb.shape[0], "width": rgb.shape[1], "population": population})
    bundle = _web_readable_copy(predictor.bundle.path, tmp_path)
    (tmp_path / "cases.json").write_text(json.dumps({"bundle": str(bundle), "cases": listed,
                                                     "rules": str(REPO / "src" / "vitalens" / "rules" / "who_2024_anaemia.json")}))  # fmt: skip
    done = subprocess.run([NODE, str(REPO / "tests" / "js" / "hb_lips.mjs"), str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    want = [predict_one(predictor, rgb, image_id, **population).to_json() for image_id, rgb, population in cases]
    for js, py in zip(got, want):
        gate = "lip gate" if py["status"] == "refused" and py["reasons"][0].startswith(LIP_GATE) else ""
        assert_same_result(js, py, lambda key, value: HB_TOLERANCE, py["image_id"])
        print(f"{py['image_id']}: {py['status']} {gate} (max numeric difference {_max_difference(js, py):.2g}) {py['reasons'][:1]}")
    assert len(got) == len(want)
    if find_shared_dataset("lips-starter") is None:
        pytest.skip("../shared/data/lips-starter is absent: only the refusals (faces, grey, nail) were compared, no estimate")
    assert any(py["status"] == "ok" for py in want), "no lip photo passed the gate: the estimate path was not compared"
    assert any(py["status"] == "refused" and py["reasons"][0].startswith(LIP_GATE[0]) for py in want), "nothing was refused as too small"
    if find_shared_dataset("cp-anemic") is not None:
        assert any(py["status"] == "refused" and py["reasons"][0].startswith(LIP_GATE[1]) for py in want), "the learned mouth check refused nothing"
