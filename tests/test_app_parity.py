"""The browser app's pipeline, step by step, against the Python runtime, in Node (no browser needed):
Pillow-exact letterbox and crops, detector decoding, nail/skin pairing, white reference, quality gate,
and the WHO 2024 rules lookup on a grid of inputs; then its whole path for a photo (the spine's screen and
each task's predictor, under the same onnxruntime-web build) against vitalens.runtime.predict_one's
Prediction.to_json(), refusals included. The end-to-end browser run is tests/test_browser_app.py."""

import json
import re
import shutil
import subprocess
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vitalens.imaging import decode_image
from vitalens.tasks.hb_nails.export import red_reference_rules
from vitalens.interpretation import interpret_hb, load_rules
from vitalens.quality import assess_photo
from vitalens.tasks.hb_nails.detection import decode_detections, detections_to_regions, letterbox
from vitalens.tasks.hb_nails.regions import nail_regions, reference_red
from vitalens.runtime import load_predictor, predict_one

REPO = Path(__file__).resolve().parents[1]
PHOTOS = sorted((REPO / "examples" / "nails").glob("*.png"))
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs)")


def _node(script: str, *args: str) -> object:
    done = subprocess.run([NODE, str(REPO / "tests" / "js" / script), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _photos_with_variants():
    """The example photos plus a rotated, shrunk one (odd sizes exercise the letterbox rounding)."""
    for path in PHOTOS:
        yield path.stem, decode_image(path).rgb
    rgb = decode_image(PHOTOS[0]).rgb
    yield "rotated-odd-size", np.ascontiguousarray(np.rot90(rgb)[5:-6, 3:-4])
    yield "refused-dark", rgb // 6
    yield "refused-overexposed", np.clip(rgb.astype(np.int32) * 3, 0, 255).astype(np.uint8)
    yield "refused-blank-card", np.full((600, 800, 3), (230, 232, 228), np.uint8)


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app-parity")
    predictor = load_predictor(None, "hb-nails")
    rules = predictor.detector_rules
    cases, expected = [], {}
    for name, rgb in _photos_with_variants():
        square, placement = letterbox(rgb, rules["input"]["size"])
        heatmap, box_maps = predictor.detector.raw(square)
        detections = decode_detections(heatmap, box_maps, placement, rgb.shape[:2], rules["score_threshold"], rules["iou_threshold"], classes=tuple(rules["classes"]))
        nails, skins, _ = detections_to_regions(detections, rules["score_threshold"], rules["max_nails"])
        regions = nail_regions(rgb, nails, skins, predictor.crop_size) if nails else None
        files = {"rgb": rgb, "square": square, "heatmap": heatmap, "box_maps": box_maps}
        if regions is not None:
            files.update(nails=regions.nails, skins=regions.skins)
        for key, array in files.items():
            (folder / f"{name}.{key}.bin").write_bytes(np.ascontiguousarray(array).tobytes())
        cases.append({"name": name, "height": rgb.shape[0], "width": rgb.shape[1], "map_height": heatmap.shape[1], "map_width": heatmap.shape[2],
                      **{key: f"{name}.{key}.bin" for key in files}})
        expected[name] = {"placement": placement, "detections": detections, "nails": nails, "skins": skins,
                          "white": regions.white if regions is not None else None, "red": regions.red if regions is not None else None,
                          "red_mark": reference_red(rgb), "quality": assess_photo(rgb)}
    manifest = json.loads(json.dumps(predictor.bundle.manifest))
    manifest["region"]["red_reference"] = red_reference_rules()  # as a colour_red bundle carries them
    (folder / "cases.json").write_text(json.dumps({"manifest": manifest, "cases": cases}))
    return {c["name"]: c for c in _node("pipeline_steps.mjs", str(folder))}, expected


def test_resize_is_pixel_identical_to_pillow(tmp_path):
    """Random crops of a photo, shrunk and enlarged with both filters the pipeline uses."""
    rgb = decode_image(PHOTOS[0]).rgb
    rng = np.random.default_rng(0)
    cases, expected = [], []
    for i in range(60):
        (h, w), (oh, ow) = rng.integers(1, 160, 2), rng.integers(1, 64, 2)
        y, x = rng.integers(0, rgb.shape[0] - h), rng.integers(0, rgb.shape[1] - w)
        patch = np.ascontiguousarray(rgb[y : y + h, x : x + w])
        name = ("box", "bilinear")[i % 2]
        (tmp_path / f"{i}.in").write_bytes(patch.tobytes())
        cases.append({"input": f"{i}.in", "output": f"{i}.out", "width": int(w), "height": int(h), "outWidth": int(ow), "outHeight": int(oh), "filter": name})
        filter_ = Image.Resampling.BOX if name == "box" else Image.Resampling.BILINEAR
        expected.append(np.asarray(Image.fromarray(patch).resize((int(ow), int(oh)), filter_)))
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    assert _node("resize_cases.mjs", str(tmp_path)) == len(cases)
    for case, want in zip(cases, expected):
        got = np.frombuffer((tmp_path / case["output"]).read_bytes(), np.uint8).reshape(want.shape)
        np.testing.assert_array_equal(got, want, err_msg=str(case))


def test_letterbox_is_pixel_identical_to_pillow(steps):
    got, expected = steps
    for name, case in got.items():
        assert case["squareMismatches"] == 0, name
        placement = expected[name]["placement"]
        assert (case["placement"]["padY"], case["placement"]["padX"]) == (placement.pad_y, placement.pad_x)


def test_detections_and_regions_match(steps):
    got, expected = steps
    for name, case in got.items():
        want = expected[name]["detections"]
        assert [(d["label"], d["box"]) for d in case["detections"]] == [(d.label, list(d.box)) for d in want], name
        assert case["regions"]["nailBoxes"] == [list(b) for b in expected[name]["nails"]], name
        assert case["regions"]["skinBoxes"] == [list(b) for b in expected[name]["skins"]], name
        if name.startswith("yakimov"):
            assert len(case["regions"]["nailBoxes"]) == 3, name


def test_crops_and_white_reference_match(steps):
    got, expected = steps
    assert sum("nailsMaxDiff" in case for case in got.values()) >= len(PHOTOS) + 1
    for name, case in got.items():
        if "nailsMaxDiff" not in case:
            continue
        assert case["nailsMaxDiff"] == 0 and case["skinsMaxDiff"] == 0, name
        np.testing.assert_allclose(case["white"], expected[name]["white"], atol=1e-6, err_msg=name)
        np.testing.assert_allclose(case["red"], expected[name]["red"], atol=1e-6, err_msg=name)


def test_red_mark_reference_matches(steps):
    got, expected = steps
    assert sum(expected[name]["red_mark"] is not None for name in got) >= len(PHOTOS)
    for name, case in got.items():
        want = expected[name]["red_mark"]
        if want is None:
            assert case["redMark"] is None, name
        else:
            np.testing.assert_allclose(case["redMark"], want, atol=1e-6, err_msg=name)


def test_quality_gate_matches(steps):
    got, expected = steps
    assert {name for name, case in got.items() if not case["quality"]["ok"]} == {"refused-dark", "refused-overexposed", "refused-blank-card"}
    for name, case in got.items():
        verdict = expected[name]["quality"]
        assert (case["quality"]["ok"], case["quality"]["reasons"], case["quality"]["tips"]) == (verdict.ok, verdict.reasons, verdict.tips), name
        measures = verdict.measures
        for key in ("mean_brightness", "clipped_fraction", "highlight_fraction", "skin_fraction", "dark_percentile", "bright_percentile"):
            assert case["quality"]["measures"][key] == pytest.approx(getattr(measures, key), rel=1e-4, abs=1e-4), (name, key)
        assert case["quality"]["measures"]["sharpness"] == pytest.approx(measures.sharpness, rel=1e-3), name


def _who_grid():
    hbs = [0.5, 6.99, 7.0, 9.5, 10.49, 10.5, 11.0, 11.5, 12.0, 12.3, 12.95, 13.0, 16.0, 25.0, 120.0, 30.0]
    people = [{}, {"sex": "female"}, {"sex": "male"}, {"sex": "Male "}, {"sex": "other"}, {"age_years": 0.3}, {"age_years": 1},
              {"age_years": 3}, {"age_years": 8}, {"age_years": 13}, {"age_years": 40, "sex": "male"}, {"age_years": 70},
              {"pregnancy_trimester": 1}, {"pregnancy_trimester": 2, "sex": "female"}, {"pregnancy_trimester": 3},
              {"pregnancy_trimester": 2, "sex": "male"}, {"pregnancy_trimester": 4}, {"age_years": 130}]
    exposures = [{}, {"altitude_m": 400}, {"altitude_m": 1250}, {"altitude_m": 2999}, {"altitude_m": 6000}, {"smoking": "smoker"},
                 {"smoking": "non-smoker"}, {"cigarettes_per_day": 5}, {"cigarettes_per_day": 15, "smoking": "smoker"},
                 {"cigarettes_per_day": 25}, {"cigarettes_per_day": 0, "smoking": "smoker"}, {"smoking": "sometimes"},
                 {"altitude_m": 2200, "cigarettes_per_day": 12.5}]
    return [(hb, {**p, **e}) for hb, p, e in product(hbs, people, exposures)]


def test_who_rules_lookup_matches_python_on_a_grid(tmp_path):
    grid = _who_grid()
    expected = []
    for hb, population in grid:
        try:
            expected.append(interpret_hb(hb, **population).to_dict())
        except ValueError as error:
            expected.append({"error": str(error)})
    (tmp_path / "grid.json").write_text(json.dumps({"rules": load_rules(), "grid": [[hb, p] for hb, p in grid]}))
    got = _node("who_grid.mjs", str(tmp_path / "grid.json"))
    assert len(got) == len(expected) > 1000
    assert sum("error" in e for e in expected) > 100  # the grid exercises the refusals too
    for (hb, population), js, py in zip(grid, got, expected):
        if "error" in py:
            assert "error" in js, (hb, population, py["error"])
            continue
        py.pop("disclaimer"), js.pop("disclaimer")
        assert js == py, (hb, population)


def _skin_cases():
    """Synthetic skin and the example photos at odd sizes, plus the lighting faults the rules name."""
    from test_skin import skin_photo

    skin = skin_photo(301, seed=5)[:, :257]
    yield "skin-301x257", skin, 192
    yield "skin-small-5x7", skin_photo(7, seed=1)[:5], 128
    yield "skin-2x2", skin_photo(2, seed=2), 64
    yield "skin-wide", np.ascontiguousarray(np.tile(skin, (1, 4, 1))[:, :1001]), 192
    yield "dark", (skin // 7), 192
    yield "overexposed", np.clip(skin.astype(np.int32) * 3, 0, 255).astype(np.uint8), 192
    yield "blue-cast", np.ascontiguousarray(skin[..., ::-1]), 128
    yield "flat-grey", np.full((240, 320, 3), 128, np.uint8), 128
    glare = skin.copy()
    glare[100:180, 90:170] = 255
    yield "glare", glare, 192
    for path in [*PHOTOS, REPO / "examples" / "faces" / "astronaut_face.jpg"]:
        yield path.stem, decode_image(path).rgb, 192


def test_skin_centre_crop_and_lighting_match_python(tmp_path):
    from vitalens.regions.centre_crop import CROP_FRACTION, centre_crop_resized
    from vitalens.tasks.skin_condition.lighting import assess_lighting

    cases, expected = [], []
    for i, (name, rgb, size) in enumerate(_skin_cases()):
        (tmp_path / f"{i}.in").write_bytes(np.ascontiguousarray(rgb).tobytes())
        cases.append({"name": name, "input": f"{i}.in", "output": f"{i}.out", "width": rgb.shape[1], "height": rgb.shape[0],
                      "size": size, "fraction": CROP_FRACTION})
        crop = centre_crop_resized(rgb, size, CROP_FRACTION)
        expected.append((crop, assess_lighting(crop)))
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    got = _node("skin_steps.mjs", str(tmp_path))
    verdicts = {case["name"]: js["lighting"]["reasons"] for case, js in zip(cases, got)}
    assert {"dark", "overexposed", "glare", "low_contrast", "colour_cast", "blurred"} <= {r for reasons in verdicts.values() for r in reasons}
    assert verdicts["skin-301x257"] == []
    for case, js, (crop, verdict) in zip(cases, got, expected):
        height, width = case["height"], case["width"]
        side = int(round(CROP_FRACTION * min(height, width)))
        assert js["box"] == [(height - side) // 2, (width - side) // 2, (height - side) // 2 + side, (width - side) // 2 + side], case["name"]
        np.testing.assert_array_equal(np.frombuffer((tmp_path / case["output"]).read_bytes(), np.uint8).reshape(crop.shape), crop, err_msg=case["name"])
        lighting = js["lighting"]
        assert (lighting["good"], lighting["reasons"], lighting["tips"]) == (verdict.good, verdict.reasons, verdict.tips), case["name"]
        for key in ("contrast", "mean_a", "mean_b"):
            assert lighting[key] == pytest.approx(getattr(verdict.measures, key), rel=1e-4, abs=1e-4), (case["name"], key)


# The browser's whole predictors against the Python ones: every key of Prediction.to_json() in the same order,
# strings and refusals exactly, numbers within these tolerances (tests/test_browser_app.py uses the same).
HB_TOLERANCE = 0.05  # g/dL
SKIN_TOLERANCE = 1e-3  # probabilities and heat-map values
# The face detector's boxes and landmarks (tests/test_face_detector_parity.py measures hundredths of a pixel).
# The interval's bounds are the rounded age minus and plus a width, rounded again: one more 0.1 y of rounding.
FACE_TOLERANCE = {"predicted_age": 0.1, "age_low": 0.2, "age_high": 0.2, "probability_female": 1e-3, "face_box": 1.0, "landmarks": 1.0, "face_score": 1e-3}
BOX_TOLERANCE = 1  # pixels: a detector score a hair apart may move a box edge by one


def hb_tolerance(key: str, want: float) -> float:
    return BOX_TOLERANCE if key in ("box", "skin_box") else HB_TOLERANCE


def skin_tolerance(key: str, want: float) -> float:
    return SKIN_TOLERANCE * max(1.0, abs(want)) if key in ("typicality", "skin_check") else SKIN_TOLERANCE


PHOTO_CHECK = re.compile(r"\((?:photo|skin) check (-?[0-9.]+) [<>] ")


def assert_same_skin_result(got, want, where: str = "") -> None:
    """assert_same_result for a skin result: a photo-check refusal words its score with two decimals, and the two
    ONNX runtimes agree on the score within skin_tolerance, not to the last digit (82772.57 beside 82772.45), so
    the browser's score in the reason and message must match Python's within that (plus the rounding) and is
    then read as Python's."""
    if want["status"] == "refused" and ("typicality" in want or "skin_check" in want):
        (shown,), (expected,) = PHOTO_CHECK.findall(got["reasons"][0]), PHOTO_CHECK.findall(want["reasons"][0])
        assert abs(float(shown) - float(expected)) <= skin_tolerance("typicality", float(expected)) + 0.01, (where, shown, expected)
        swap = lambda text: text.replace(f" check {shown} ", f" check {expected} ")  # noqa: E731
        got = {**got, "reasons": [swap(reason) for reason in got["reasons"]], "message": swap(got["message"])}
    assert_same_result(got, want, skin_tolerance, where)


def face_tolerance(key: str, want: float) -> float:
    return FACE_TOLERANCE.get(key, 0.0)


def assert_same_result(got, want, tolerance, where: str = "", key: str = "") -> None:
    """`got` (the browser's result) has `want`'s shape (a Prediction.to_json()): the same keys in the same order,
    equal strings, flags and counts, numbers within tolerance(key, value). Values rounded to a few decimals on both
    sides may sit one rounding step apart, so the float comparison allows a last-bit slack."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), (where, got if not isinstance(got, dict) else list(got), list(want))
        for name, value in want.items():
            assert_same_result(got[name], value, tolerance, f"{where}.{name}", name)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, got, want)
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same_result(g, w, tolerance, f"{where}[{i}]", key)
    elif isinstance(want, (int, float)) and not isinstance(want, bool):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), (where, got, want)
        assert abs(got - want) <= tolerance(key, want) + 1e-12, (where, got, want)
    else:
        assert got == want, (where, got, want)


ORT_WEB = REPO / "node_modules" / "onnxruntime-web" / "dist" / "ort.wasm.min.mjs"


def run_predictions(folder: Path, bundles: dict[str, Path], cases: list[tuple[str, str, np.ndarray, dict]], site_checks: dict | None = None,
                    fake_outputs: dict | None = None) -> list[dict]:
    """tests/js/predictions.mjs on `cases` (task, image id, photo, population): the browser's result for each
    (with `site_checks`, task -> a bundle.json "site_check", in place of the bundles' own; with `fake_outputs`,
    task -> one row per model output, the task model's outputs replaced by those rows)."""
    if not ORT_WEB.is_file():
        pytest.skip("onnxruntime-web is not installed: run `npm ci` (or `make browser-deps`)")
    listed = []
    for i, (task, image_id, rgb, population) in enumerate(cases):
        (folder / f"{i}.rgb").write_bytes(np.ascontiguousarray(rgb).tobytes())
        listed.append({"task": task, "image_id": image_id, "input": f"{i}.rgb", "height": rgb.shape[0], "width": rgb.shape[1], "population": population})
    config = {"bundles": {task: str(path) for task, path in bundles.items()}, "rules": str(REPO / "src" / "vitalens" / "rules" / "who_2024_anaemia.json"),
              "cases": listed, "siteChecks": site_checks or {}, "fakeOutputs": fake_outputs or {}}  # fmt: skip
    (folder / "cases.json").write_text(json.dumps(config))
    return _node("predictions.mjs", str(folder))


def _expected(predictor, cases) -> list[dict]:
    return [predict_one(predictor, rgb, image_id, **population).to_json() for _, image_id, rgb, population in cases]


def test_hb_and_face_results_match_the_python_predictors(tmp_path):
    hb, face = load_predictor(None, "hb-nails"), load_predictor(None, "face-age-gender")
    people = [{}, {"age_years": 30, "sex": "female"}, {"age_years": 8, "altitude_m": 1800}, {"sex": "male", "smoking": "smoker"}]
    hb_cases = [("hb-nails", f"{name}.png", rgb, people[i % len(people)]) for i, (name, rgb) in enumerate(_photos_with_variants())]
    hb_cases.append(("hb-nails", "tiny.png", decode_image(PHOTOS[0]).rgb[:12, :400], {}))
    crop = decode_image(REPO / "examples" / "faces" / "astronaut_face.jpg").rgb
    enlarged = np.asarray(Image.fromarray(crop).resize((600, 600), Image.Resampling.BILINEAR))  # a face, but no crop any more
    photo = decode_image(REPO / "examples" / "faces" / "astronaut.jpg").rgb  # the whole photo: the detector finds the face
    face_cases = [("face-age-gender", "face.jpg", crop, {}), ("face-age-gender", "face-odd.jpg", np.ascontiguousarray(crop[3:-4, 5:-2]), {}),
                  ("face-age-gender", "face-600.jpg", enlarged, {}), ("face-age-gender", "astronaut.jpg", photo, {}),
                  ("face-age-gender", "small-face.jpg", np.asarray(Image.fromarray(photo).resize((256, 256), Image.Resampling.BILINEAR)), {}),
                  ("face-age-gender", "grey.png", np.full((300, 300, 3), 128, np.uint8), {}),
                  ("face-age-gender", "nails.png", decode_image(PHOTOS[0]).rgb, {})]  # fmt: skip
    got = run_predictions(tmp_path, {"hb-nails": hb.bundle.path, "face-age-gender": face.bundle.path}, hb_cases + face_cases)
    want_hb, want_face = _expected(hb, hb_cases), _expected(face, face_cases)
    assert [r["status"] for r in want_hb].count("refused") >= 4
    assert [r["status"] for r in want_face][:4] == ["ok"] * 4 and {r["image_id"]: r["reasons"] for r in want_face[4:]} == {
        "small-face.jpg": ["the face is 41 px across, under the 64 px this model needs"], "grey.png": ["no face found"], "nails.png": ["no face found"]}
    for js, py in zip(got, want_hb):
        assert_same_result(js, py, hb_tolerance, py["image_id"])
    for js, py in zip(got[len(hb_cases):], want_face):  # the face finder's refusals too, word for word
        assert_same_result(js, py, face_tolerance, py["image_id"])


def test_skin_results_match_the_python_predictor(tmp_path, skin_fixture_bundle):
    from vitalens.runtime import load_bundle
    from vitalens.tasks.skin_condition.runtime import SkinPredictor

    predictor = SkinPredictor(load_bundle(skin_fixture_bundle))
    cases = [("skin-condition", f"{name}.png", rgb, {}) for name, rgb, _ in _skin_cases()]
    got, want = run_predictions(tmp_path, {"skin-condition": skin_fixture_bundle}, cases), _expected(predictor, cases)
    refusals = {r["image_id"]: r["reasons"][0] for r in want if r["status"] == "refused"}
    assert {"skin-small-5x7.png", "skin-2x2.png"} <= set(refusals) and "too small" in refusals["skin-2x2.png"]
    assert {"skin-301x257.png", "dark.png"}.isdisjoint(refusals) and "photo check" in refusals["astronaut_face.png"]  # typical, and not
    for js, py in zip(got, want):
        assert_same_skin_result(js, py, py["image_id"])


def test_the_skin_check_output_scores_and_refuses_alike_in_the_browser(tmp_path, skin_fixture_bundle):
    """A made-up skin check folded into the fixture's graph by the shipped bundle's own code (seeded weights, threshold
    between two photos' scores, so about half the photos are refused by it): the browser must read and refuse alike."""
    from vitalens.bundle.writer import update_bundle
    from vitalens.runtime import load_bundle
    from vitalens.tasks.skin_condition.runtime import SkinPredictor
    from vitalens.tasks.skin_condition.skin_check_fit import OUTPUT, append_site_logit, features_session

    bundle = shutil.copytree(skin_fixture_bundle, tmp_path / "bundle")
    predictor = SkinPredictor(load_bundle(bundle))
    cases = [("skin-condition", f"{name}.png", rgb, {}) for name, rgb, _ in _skin_cases() if min(rgb.shape[:2]) >= 16]
    session, index = features_session(bundle / "model.onnx")
    crops = [predictor.crop(rgb) for _, _, rgb, _ in cases]
    pooled = np.array([session.run(None, {"image": crop[None].transpose(0, 3, 1, 2).astype(np.float32) / 255})[index][0] for crop in crops])
    weights = {"mean": pooled.mean(axis=0), "scale": pooled.std(axis=0) + 0.05, "weights": np.random.default_rng(4).normal(0, 1, pooled.shape[1]), "bias": 0.25}
    scores = sorted(((pooled - weights["mean"]) / weights["scale"]) @ weights["weights"] + weights["bias"])
    append_site_logit(bundle / "model.onnx", weights)
    manifest = json.loads((bundle / "bundle.json").read_text())
    check = {"shape": ["batch"], "threshold": float((scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2)}
    update_bundle(bundle, {"model": (bundle / "model.onnx", {k: v for k, v in manifest["model"].items() if k not in ("file", "sha256")})},
                  {"outputs": {**manifest["outputs"], OUTPUT: check}})  # fmt: skip
    predictor = SkinPredictor(load_bundle(bundle))
    (tmp_path / "browser").mkdir()
    got, want = run_predictions(tmp_path / "browser", {"skin-condition": bundle}, cases), _expected(predictor, cases)
    refused_by_it = [r for r in want if r["status"] == "refused" and "skin check" in r["reasons"][0]]
    assert 2 <= len(refused_by_it) <= len(cases) // 2 + 1 and all(r["tips"] and "label_1" not in r for r in refused_by_it)
    assert any(r["status"] == "ok" and "skin_check" in r for r in want)
    for js, py in zip(got, want):
        assert_same_skin_result(js, py, py["image_id"])


def test_site_check_screen_matches_the_python_spine(tmp_path):
    """A made-up site check in place of the bundle's (weights seeded, threshold between two photos' scores, so half
    the photos, of every kind, pass and half are refused): the browser must score and refuse alike."""
    from vitalens.site_check import N_FEATURES, site_features, site_score

    predictor = load_predictor(None, "hb-nails")
    cases = [("hb-nails", f"{name}.png", rgb, {}) for name, rgb in _photos_with_variants()]
    cases += [("hb-nails", f"{name}.png", rgb, {}) for name, rgb, _ in _skin_cases() if min(rgb.shape[:2]) >= 16 and f"{name}.png" not in {c[1] for c in cases}]
    features = np.array([site_features(rgb) for _, _, rgb, _ in cases])
    check = {"body_site": "fingernail", "tip": "photograph three fingernails on a white card", "bias": 0.25,
             "mean": features.mean(axis=0).tolist(), "scale": (features.std(axis=0) + 0.05).tolist(),
             "weights": np.random.default_rng(3).normal(0, 1, N_FEATURES).tolist(), "threshold": 0.0}  # fmt: skip
    scores = sorted(site_score(rgb, check) for _, _, rgb, _ in cases)
    check["threshold"] = (scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2
    manifest = predictor.bundle.manifest
    shipped = manifest.get("site_check")
    manifest["site_check"] = check
    try:
        want = _expected(predictor, cases)
    finally:
        manifest["site_check"] = shipped
        if shipped is None:
            del manifest["site_check"]
    got = run_predictions(tmp_path, {"hb-nails": predictor.bundle.path}, cases, {"hb-nails": check})
    assert 3 <= sum("site_check_score" in r for r in want) <= len(cases) // 2  # some go to the quality gate first
    for js, py in zip(got, want):
        assert_same_result(js, py, hb_tolerance, py["image_id"])
