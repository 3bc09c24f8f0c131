"""Every browser mode at phone and desktop width (tests/js/screenshots.mjs): the answer box is on screen after a
prediction, no request leaves the local server, and the screenshots are written to experiments/app/ for review."""

import json
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytest.importorskip("fastapi", reason="the service needs the `serve` extra (fastapi, uvicorn, python-multipart)")
from vitalens.service.local_server import local_server  # noqa: E402
from vitalens.tasks import all_tasks  # noqa: E402
from vitalens.imaging import decode_image  # noqa: E402
from test_browser_app import _require_browser_tools, _write_y4m as write_y4m  # noqa: E402

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "experiments" / "app"
# one photo per mode that ships in the repository (never a UTKFace or Fitzpatrick17k image)
PHOTOS = {"hb-nails": REPO / "examples" / "nails" / "yakimov2024_65.png", "face-age-gender": REPO / "examples" / "faces" / "astronaut.jpg",
          "hb-lips": REPO / "examples" / "faces" / "astronaut.jpg"}  # no lip photo ships: the lips screen shows its refusal


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory, skin_fixture_bundle):
    node, chromium = _require_browser_tools()
    from test_skin import skin_photo
    from PIL import Image

    folder = tmp_path_factory.mktemp("screens")
    Image.fromarray(skin_photo(320, seed=3)[:, :270]).save(folder / "skin.png")
    write_y4m(decode_image(PHOTOS["hb-nails"]).rgb, folder / "camera.y4m")
    Image.fromarray(_segmented_eyelid()).save(folder / "conjunctiva.png")
    photos = {**PHOTOS, "skin-condition": folder / "skin.png", "hb-conjunctiva": folder / "conjunctiva.png"}
    browser_modes = [name for name, task in all_tasks().items() if task.browser_mode]
    OUT.mkdir(parents=True, exist_ok=True)
    # the skin mode runs the untrained fixture bundle (tests/skin_fixture.py), whose photo check passes the synthetic
    # skin, so its screenshot shows the answer's layout (bars, heat map); its labels mean nothing
    with local_server("--bundle", str(skin_fixture_bundle)) as base:
        config = {"base": base, "chromium": chromium, "outDir": str(OUT), "photos": {t: str(photos[t]) for t in browser_modes if t in photos},
                  "cameraTask": "hb-nails", "fakeVideo": str(folder / "camera.y4m")}
        (folder / "config.json").write_text(json.dumps(config))
        done = subprocess.run([node, str(REPO / "tests" / "js" / "screenshots.mjs"), str(folder / "config.json")], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return base, config, json.loads(done.stdout)


def _segmented_eyelid():
    """A pink lower-eyelid lining cut out onto white, as CP-AnemiC's photos are (none of which may ship)."""
    import numpy as np

    rng = np.random.default_rng(22)
    rgb = np.full((300, 400, 3), 255, np.uint8)
    yy, xx = np.mgrid[:300, :400]
    inside = ((xx - 200) / 170.0) ** 2 + ((yy - 150) / 60.0) ** 2 <= 1
    rgb[inside] = np.clip(rng.normal((190, 90, 100), 12, (int(inside.sum()), 3)), 0, 254).astype(np.uint8)
    return rgb


def test_every_mode_is_shot_at_both_widths_with_its_answer_on_screen(screenshots):
    _, config, run = screenshots
    assert set(config["photos"]) == {name for name, task in all_tasks().items() if task.browser_mode}  # every mode the app has
    modes = [*config["photos"], "hb-nails camera"]
    assert {(s["task"], s["width"]) for s in run["shots"]} == {(t, w) for t in modes for w in ("phone", "desktop")}
    for shot in run["shots"]:
        assert shot["status"] in {"ok", "refused"}, shot
        assert shot["inViewport"], f"{shot['task']} at {shot['width']} width: the result box is off screen ({shot})"
        assert Path(shot["path"]).stat().st_size > 10_000
    assert run["problems"] == []


def test_no_request_leaves_the_local_server(screenshots):
    base, _, run = screenshots
    host = urlparse(base).netloc
    outside = [url for url in run["requests"] if urlparse(url).scheme in {"http", "https"} and urlparse(url).netloc != host]
    assert run["requests"] and outside == []


def test_camera_mode_leaves_no_video_box_and_shows_the_best_frame_and_the_per_frame_plot(screenshots):
    _, _, run = screenshots
    camera = [s for s in run["shots"] if s["task"] == "hb-nails camera"]
    assert len(camera) == 2 and all(s["status"] == "ok" for s in camera), camera
    assert all(s["videoHidden"] and s["streamGone"] and s["bestFrameShown"] and s["dotPlot"] for s in camera), camera
