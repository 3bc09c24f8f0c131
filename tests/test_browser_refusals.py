"""Every browser mode refuses, with the reason and a tip and no estimate, a face crop, a skin photo and a
blank image that are not of its body site (tests/js/refusals.mjs), as the CLI and the API do."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the service needs the `serve` extra (fastapi, uvicorn, python-multipart)")
from vitalens.imaging import decode_image  # noqa: E402
from vitalens.runtime import load_predictor, predict_one  # noqa: E402
from vitalens.service.local_server import local_server  # noqa: E402
from vitalens.tasks import all_tasks  # noqa: E402
from test_browser_app import _require_browser_tools  # noqa: E402
from test_skin import skin_photo  # noqa: E402

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[1]
SITE_OF_PHOTO = {"face.jpg": "face", "skin.png": "skin", "blank.png": None}  # None: no body site at all


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("wrong-site")
    Image.open(REPO / "examples" / "faces" / "astronaut_face.jpg").save(folder / "face.jpg")
    Image.fromarray(skin_photo(320, seed=3)).save(folder / "skin.png")  # synthetic: no Fitzpatrick17k image is ever shipped
    Image.fromarray(np.full((480, 640, 3), 128, np.uint8)).save(folder / "blank.png")
    return {name: folder / name for name in SITE_OF_PHOTO}


def _cases(photos):
    modes = [name for name, task in all_tasks().items() if task.browser_mode]
    return [(task, name) for task in modes for name in photos if SITE_OF_PHOTO[name] != all_tasks()[task].body_site]


def test_the_python_runtime_refuses_each_wrong_site_photo(photos):
    for task, name in _cases(photos):
        prediction = predict_one(load_predictor(task=task), decode_image(photos[name]).rgb, name)
        assert prediction.status == "refused" and prediction.reasons and prediction.details.get("tips"), (task, name, prediction)


def test_each_browser_mode_refuses_each_wrong_site_photo_with_a_reason_and_a_tip(photos):
    node, chromium = _require_browser_tools()
    cases = _cases(photos)
    with local_server() as base:
        config = {"base": base, "chromium": chromium, "cases": [{"task": t, "photo": str(photos[n])} for t, n in cases]}
        path = photos["blank.png"].with_name("config.json")
        path.write_text(json.dumps(config))
        done = subprocess.run([node, str(REPO / "tests" / "js" / "refusals.mjs"), str(path)], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads(done.stdout)
    assert len(results) == len(cases) >= 6
    for result in results:
        assert result["status"] == "refused", result
        assert "No " in result["text"] or "no " in result["text"], result  # "No estimate" / "No answer" / "no face"
