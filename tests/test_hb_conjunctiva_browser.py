"""The browser's conjunctiva mode (webapp/js/hb_conjunctiva.js behind the spine's screen.js) answers as the
Python runtime does: the same keys in the same order, the same refusals, numbers within HB_TOLERANCE."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from test_app_parity import HB_TOLERANCE, ORT_WEB, assert_same_result
from test_hb_conjunctiva import eyelid
from vitalens.data.shared import find_shared_dataset
from vitalens.imaging import decode_image
from vitalens.runtime import load_predictor, predict_one

REPO = Path(__file__).resolve().parents[1]
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None or not ORT_WEB.is_file(), reason="node or onnxruntime-web is not installed (`npm ci`)")


def _cases() -> list[tuple[str, np.ndarray, dict]]:
    cases = [("blank.png", np.full((120, 200, 3), 255, np.uint8), {}), ("synthetic.png", np.asarray(eyelid(3).convert("RGB")), {}),
             ("face.jpg", decode_image(REPO / "examples" / "faces" / "astronaut_face.jpg").rgb, {})]  # fmt: skip
    root = find_shared_dataset("cp-anemic")
    if root is not None:  # real photos, one large enough to be resized to the working side
        people = [{"age_years": 1.5}, {"age_years": 4, "sex": "female"}, {}]
        cases += [(p.name, decode_image(p).rgb, people[i % 3]) for i, p in enumerate(sorted((root / "Non-anemic").glob("*.png"))[:6])]
    return cases


def test_browser_mode_matches_the_python_runtime(tmp_path):
    predictor = load_predictor(task="hb-conjunctiva")
    cases = _cases()
    listed = []
    for i, (image_id, rgb, population) in enumerate(cases):
        (tmp_path / f"{i}.rgb").write_bytes(np.ascontiguousarray(rgb).tobytes())
        listed.append({"image_id": image_id, "input": f"{i}.rgb", "height": rgb.shape[0], "width": rgb.shape[1], "population": population})
    (tmp_path / "cases.json").write_text(json.dumps({"bundle": str(predictor.bundle.path), "cases": listed,
                                                     "rules": str(REPO / "src" / "vitalens" / "rules" / "who_2024_anaemia.json")}))  # fmt: skip
    done = subprocess.run([NODE, str(REPO / "tests" / "js" / "hb_conjunctiva.mjs"), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    want = [predict_one(predictor, rgb, image_id, **population).to_json() for image_id, rgb, population in cases]
    assert [w["status"] for w in want][:3] == ["refused", "refused", "refused"] or want[1]["status"] == "ok"
    for js, py in zip(got, want):
        assert_same_result(js, py, lambda key, value: HB_TOLERANCE, py["image_id"])
