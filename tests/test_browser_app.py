"""The browser app in a real browser: Debian's chromium driven by playwright-core (tests/js/browser_app.mjs)
against a `vitalens serve` process. The on-device estimate must equal the Python runtime's for the same
bundle, the app must keep working with the network cut, and camera mode must run on a fake camera. Each
photo's on-device result has the shape of the Python runtime's Prediction.to_json() (what the API returns):
the same keys in the same order, within the tolerances of tests/test_app_parity.py. The skin mode runs the
fixture skin bundle (tests/skin_fixture.py) served with `--bundle`, so it never depends on the shipped skin
weights."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vitalens import DISCLAIMER
from vitalens.imaging import decode_image
from vitalens.runtime import load_predictor, predict_one

pytest.importorskip("fastapi", reason="the service needs the `serve` extra (fastapi, uvicorn, python-multipart)")
from vitalens.service.local_server import local_server  # noqa: E402
from test_app_parity import assert_same_result, assert_same_skin_result, face_tolerance, hb_tolerance  # noqa: E402

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[1]
PHOTOS = sorted((REPO / "examples" / "nails").glob("*.png"))
FACE = REPO / "examples" / "faces" / "astronaut.jpg"  # the whole photo: face mode finds the face itself
SCREENSHOT = REPO / "experiments" / "app" / "screenshot.png"
SKIN_SCREENSHOT = SCREENSHOT.with_name("skin_screenshot.png")
CAMERA_FRAMES = 6


def _node_modules_ready() -> bool:
    return all((REPO / "node_modules" / package).is_dir() for package in ("playwright-core", "onnxruntime-web"))


def _require_browser_tools() -> tuple[str, str]:
    node, chromium = shutil.which("node"), shutil.which("chromium")
    if node is None:
        pytest.skip("node is not installed (apt-get install nodejs npm); the browser tests need it")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; `make test` does it as root)")
    if not _node_modules_ready():
        npm = shutil.which("npm")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=REPO, capture_output=True, text=True, timeout=600) if npm else None
        if not _node_modules_ready():
            pytest.fail(f"`npm ci` could not install playwright-core and onnxruntime-web: {done.stderr[-2000:] if done else 'npm missing'}")
    return node, chromium


def _write_y4m(rgb: np.ndarray, path: Path, frames: int = 2) -> None:
    """The photo as a short I420 video (BT.601 limited range), what chromium's fake camera plays in a loop."""
    height, width = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
    r, g, b = (rgb[:height, :width, c].astype(np.float64) / 255 for c in range(3))
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    cb = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    cr = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    half = lambda plane: plane.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))  # noqa: E731
    planes = b"".join(np.clip(np.round(p), 0, 255).astype(np.uint8).tobytes() for p in (y, half(cb), half(cr)))
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode() + b"FRAME\n".join([b""] + [planes] * frames))


@pytest.fixture(scope="module")
def skin_photos(tmp_path_factory) -> list[Path]:
    """Synthetic skin (never a Fitzpatrick17k photo: those are non-commercial), well lit and dark, not square, after
    a thumbnail too small to read and a checkerboard that is no skin at all (both refused; the screenshot, taken
    after the last photo, shows an answer with its heat map)."""
    from test_skin import checkerboard, skin_photo

    folder = tmp_path_factory.mktemp("skin-photos")
    photos = {"tiny-skin.png": skin_photo(12, seed=6), "not-skin.png": checkerboard(240), "skin.png": skin_photo(320, seed=3)[:, :270],
              "dark-skin.png": (skin_photo(300, seed=4)[:250] * 0.12).astype(np.uint8)}  # fmt: skip
    for name, rgb in photos.items():
        Image.fromarray(rgb).save(folder / name)
    return [folder / name for name in photos]


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory, skin_fixture_bundle, skin_photos):
    node, chromium = _require_browser_tools()
    folder = tmp_path_factory.mktemp("browser")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    _write_y4m(decode_image(PHOTOS[0]).rgb, folder / "camera.y4m")
    Image.fromarray(decode_image(PHOTOS[0]).rgb // 6).save(folder / "dark.png")
    skin = np.clip(np.array([224, 172, 140]) + np.random.default_rng(5).normal(0, 4, (400, 400, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(skin).save(folder / "no-face.png")  # skin-coloured, but no face
    with local_server("--bundle", str(skin_fixture_bundle)) as base:
        config = {"base": base, "chromium": chromium, "photos": [str(p) for p in PHOTOS], "screenshot": str(SCREENSHOT),
                  "fakeVideo": str(folder / "camera.y4m"), "cameraFrames": CAMERA_FRAMES, "refusedPhotos": [str(folder / "dark.png")],
                  "facePhoto": str(FACE), "faceRefusedPhoto": str(folder / "no-face.png"),
                  "skinPhotos": [str(p) for p in skin_photos], "skinScreenshot": str(SKIN_SCREENSHOT)}
        (folder / "config.json").write_text(json.dumps(config))
        done = subprocess.run([node, str(REPO / "tests" / "js" / "browser_app.mjs"), str(folder / "config.json")],
                              cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def python_results():
    predictor = load_predictor(None, "hb-nails")
    return {str(p): predict_one(predictor, decode_image(p).rgb, p.name) for p in PHOTOS}


def test_on_device_estimate_equals_the_python_runtime(browser_run, python_results):
    rows = []
    for entry in browser_run["online"]:
        expected, got = python_results[entry["photo"]], entry["result"]
        assert entry["status"] == got["status"] == expected.status == "ok", entry["photo"]
        assert_same_result(got, expected.to_json(), hb_tolerance, entry["photo"])
        assert got["n_nails"] == len(got["nails"]) == len(expected.details["nails"]) == 3, entry["photo"]
        python_hb, browser_hb = expected.columns["predicted_hgb"], got["predicted_hgb"]
        assert "Hb ≈ " in entry["text"] and f"median of {got['n_nails']} nails" in entry["text"], entry["text"]
        assert got["who_severity"] == got["interpretation"]["statement"] and got["interpretation"]["headline"] in entry["text"], entry["text"]
        assert "assumed: sex not given" in got["interpretation"]["headline"]  # the photos are sent without a sex
        rows.append({"photo": Path(entry["photo"]).name, "python_hb": python_hb, "browser_hb": browser_hb, "abs_diff": abs(browser_hb - python_hb),
                     "python_nails": len(expected.details["nails"]), "browser_nails": got["n_nails"]})
    (SCREENSHOT.parent / "browser_parity.json").write_text(json.dumps(rows, indent=2))


def test_a_refused_photo_gets_the_reason_and_tips_and_no_estimate(browser_run):
    predictor = load_predictor(None, "hb-nails")
    for entry in browser_run["refused"]:
        expected, got = predict_one(predictor, decode_image(entry["photo"]).rgb, Path(entry["photo"]).name), entry["result"]
        assert entry["status"] == got["status"] == expected.status == "refused", entry["text"]
        assert_same_result(got, expected.to_json(), hb_tolerance, entry["photo"])
        assert "predicted_hgb" not in got and "No estimate" in entry["text"] and all(tip in entry["text"] for tip in got["tips"])


def test_the_app_works_offline_after_the_first_visit(browser_run):
    assert browser_run["controlled"], "the service worker did not take control of the page"
    assert browser_run["apiOffline"] == "unreachable", "the network was not really cut"
    offline, first = browser_run["offline"], browser_run["online"][0]
    assert offline["status"] == "ok" and offline["result"]["predicted_hgb"] == pytest.approx(first["result"]["predicted_hgb"], abs=1e-9)


def test_every_screen_says_it_is_not_a_medical_device(browser_run):
    for entry in browser_run["online"] + [browser_run["offline"]]:
        assert "not a medical device" in entry["disclaimer"]
        assert DISCLAIMER in entry["text"] and entry["result"]["disclaimer"] == DISCLAIMER


def test_camera_mode_reads_frames_and_takes_the_iqr_median(browser_run):
    camera = browser_run["camera"]
    assert camera["status"] == "ok", camera["text"]
    summary = camera["result"]
    assert summary["frames"] == CAMERA_FRAMES and summary["used"] + summary["rejected"] + summary["refused"] == CAMERA_FRAMES
    assert summary["used"] >= 1 and summary["method"] == "iqr-then-median"
    low, high = summary["interval"]
    assert 0 <= low < summary["hb"] < high and summary["interpretation"]["severity"] in ("none", "mild", "moderate", "severe")
    assert summary["interpretation"]["headline"].startswith(summary["interpretation"]["statement"])
    assert summary["interpretation"]["headline"] in camera["text"], camera["text"]


# A whole photo in the browser against Python: the same gender, and the detector, alignment and model within these
# (tests/test_app_parity.py holds the Node run to face_tolerance; a real browser may pick another wasm kernel).
FACE_PHOTO_TOLERANCE = {"predicted_age": 0.5, "age_low": 0.6, "age_high": 0.6, "probability_female": 0.02, "face_box": 2.0, "landmarks": 2.0, "face_score": 0.02}


def test_face_mode_finds_the_face_in_a_whole_photo_and_matches_the_python_runtime(browser_run):
    predictor = load_predictor(None, "face-age-gender")
    expected = predict_one(predictor, decode_image(FACE).rgb, FACE.name)
    face = browser_run["face"]
    assert face["status"] == "ok" == expected.status, face["text"]
    assert face["result"]["predicted_gender"] == expected.columns["predicted_gender"]
    assert_same_result(face["result"], expected.to_json(), lambda key, want: FACE_PHOTO_TOLERANCE.get(key, face_tolerance(key, want)), FACE.name)
    assert f"{face['result']['predicted_gender']} (P(female) = " in face["text"] and DISCLAIMER in face["text"]
    photo, aligned = face["photoView"], face["alignedView"]  # the photo with the box and landmarks, the crop the model read beside it
    assert not photo["hidden"] and photo["width"] == 480 and not aligned["hidden"]
    assert aligned["width"] == aligned["height"] == predictor.manifest["alignment"]["side"]


def test_face_mode_refuses_a_photo_with_no_face_with_the_reason_and_a_tip(browser_run):
    refused = browser_run["faceRefused"]
    expected = predict_one(load_predictor(None, "face-age-gender"), decode_image(refused["photo"]).rgb, Path(refused["photo"]).name)
    assert refused["status"] == refused["result"]["status"] == expected.status == "refused", refused["text"]
    assert_same_result(refused["result"], expected.to_json(), face_tolerance, refused["photo"])
    assert refused["result"]["reasons"] == ["no face found"] and "predicted_age" not in refused["result"]
    assert refused["result"]["message"] in refused["text"] and refused["alignedView"]["hidden"]


def test_skin_mode_matches_the_python_runtime_and_draws_the_heat_map(browser_run, skin_fixture_bundle, skin_photos):
    from vitalens.runtime import load_bundle
    from vitalens.tasks.skin_condition.runtime import SkinPredictor

    predictor = SkinPredictor(load_bundle(skin_fixture_bundle))
    rows = []
    assert [Path(entry["photo"]) for entry in browser_run["skin"]] == skin_photos
    for entry in browser_run["skin"]:
        expected, got = predict_one(predictor, decode_image(entry["photo"]).rgb, Path(entry["photo"]).name), entry["result"]
        assert entry["status"] == got["status"] == expected.status, entry["text"]
        assert_same_skin_result(got, expected.to_json(), entry["photo"])
        assert got["disclaimer"] == DISCLAIMER and DISCLAIMER in entry["text"]
        if expected.status != "ok":
            assert got["message"] in entry["text"] and "overlay" not in entry
            continue
        assert "not a medical device" in entry["text"].lower()
        first = got["three_partition"][0]
        assert "Coarse view:" in entry["text"] and f"{first['partition']} {first['probability'] * 100:.1f} %" in entry["text"]
        want_map = np.array(expected.details["heatmap"]["values"])
        probability_gap = max(abs(g["probability"] - e["probability"]) for g, e in zip(got["top"], expected.details["top"]))
        heatmap_gap = float(np.abs(np.array(got["heatmap"]["values"]) - want_map).max())
        overlay = entry["overlay"]
        assert not overlay["hidden"] and overlay["width"] == overlay["height"] == 256 and overlay["meanDiff"] > 1
        # the overlay changes the picture most where the map is hottest
        assert np.corrcoef(overlay["cellDiff"], want_map.ravel())[0, 1] > 0.8
        rows.append({"photo": Path(entry["photo"]).name, "labels": [t["label"] for t in got["top"]], "max_probability_diff": probability_gap,
                     "max_heatmap_diff": heatmap_gap, "lighting": got["lighting"], "typicality": got["typicality"]})
    answered = [entry["result"] for entry in browser_run["skin"] if entry["result"]["status"] == "ok"]
    assert {result["lighting"] for result in answered} == {"good", "poor"}
    assert [entry["result"]["status"] for entry in browser_run["skin"]] == ["refused", "refused", "ok", "ok"]
    not_skin = browser_run["skin"][1]["result"]  # the photo check's refusal: the reason and a tip, no labels
    assert "photo check" in not_skin["reasons"][0] and "close up" in not_skin["message"] and "top" not in not_skin
    (SCREENSHOT.parent / "browser_skin_parity.json").write_text(json.dumps(rows, indent=2))


def test_no_errors_in_the_page_and_a_screenshot(browser_run):
    assert browser_run["problems"] == []
    with Image.open(SCREENSHOT) as shot:
        assert shot.format == "PNG" and shot.width >= 600


def test_the_api_docs_render_with_no_request_leaving_the_server():
    node, chromium = _require_browser_tools()
    shot = SCREENSHOT.with_name("api_docs.png")
    with local_server() as base:
        done = subprocess.run([node, str(REPO / "tests" / "js" / "docs_offline.mjs"), base, chromium, str(shot)],
                              cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert "vitalens" in result["title"] and result["operations"] >= 3 and result["outside"] == []
    assert result["redoc"]["rendered"] > 1000 and result["redoc"]["mentions_predict"]  # ReDoc rendered the same document
