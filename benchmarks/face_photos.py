"""Faces in photos: the shipped face bundle's detector + alignment against crops fed directly.

Usage: python benchmarks/face_photos.py [N_FACES] [ASTRONAUT_PHOTO]   (default 400 faces; examples/faces/astronaut.jpg)

Faces are UTKFace held-out crops (`split_of` == "test", every k-th by file name: never trained on, never
used to set the detector's limits or the alignment template, which came from training crops). Each is
pasted into a photo-sized scene: 1280x960 or 960x1280, face side 180-480 px, tilt within +-12 degrees, at a
random place on a random background (a blurred colour gradient with blurred shapes and noise, never another
face, so every detection that misses the pasted face is a false one). Three paths are scored on the same faces:
  direct  - the crop resized straight to 112 px (how the published held-out numbers were measured);
  crop    - the crop through the full path (detector, alignment, refusals);
  scene   - the scene through the full path.
Accuracy and MAE are on the answered faces, with the direct path on that same subset beside them, and the
majority-gender and training-mean-age baselines on it too. Latency is the median wall time of one photo
through predict_one (detector + model, batch 1) on this machine's shared CPU. Writes
benchmarks/results/face_photos.{json,md}.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.imaging import decode_image
from vitalens.regions.faces import detect_faces
from vitalens.runtime import load_predictor, predict_one
from vitalens.tasks.face_age_gender.data import parse_utkface_name, split_of
from vitalens.tasks.face_age_gender.regions import DETECT_MIN_PX, MIN_FACE_PX

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A blurred two-colour gradient with blurred ellipses and rectangles and a little noise."""
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, width if rng.random() < 0.5 else height)
    ramp = (a[None] * (1 - t[:, None]) + b[None] * t[:, None]).astype(np.float32)
    image = np.broadcast_to(ramp[None] if len(t) == width else ramp[:, None], (height, width, 3)).copy()
    for _ in range(rng.integers(3, 12)):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        if rng.random() < 0.5:
            cv2.ellipse(image, centre, (int(rng.integers(20, 300)), int(rng.integers(20, 300))), float(rng.uniform(0, 180)), 0, 360, colour, -1)
        else:
            cv2.rectangle(image, centre, (centre[0] + int(rng.integers(20, 400)), centre[1] + int(rng.integers(20, 400))), colour, -1)
    image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(2, 25)))
    return np.clip(image + rng.normal(0, rng.uniform(0, 8), image.shape), 0, 255).astype(np.uint8)


def scene(crop: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """(the scene, (centre x, centre y, side, degrees turned anticlockwise) of the pasted crop)."""
    height, width = (960, 1280) if rng.random() < 0.5 else (1280, 960)
    canvas = Image.fromarray(background(rng, height, width))
    side, angle = int(rng.integers(180, 481)), float(rng.uniform(-12, 12))
    face = Image.fromarray(crop).convert("RGBA").resize((side, side), Image.BILINEAR).rotate(angle, Image.BILINEAR, expand=True)
    left, top = int(rng.integers(0, width - face.width)), int(rng.integers(0, height - face.height))
    canvas.paste(face, (left, top), face)
    return np.asarray(canvas), (left + face.width / 2, top + face.height / 2, float(side), angle)


def crop_to_scene(points: np.ndarray, crop_side: int, truth: tuple[float, float, float, float]) -> np.ndarray:
    """Points (x, y) on the crop where `scene` put them: scaled to the pasted side, turned, moved."""
    cx, cy, side, angle = truth
    v = np.asarray(points, float) * side / crop_side - side / 2
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    return np.stack([cx + v[:, 0] * c + v[:, 1] * s, cy - v[:, 0] * s + v[:, 1] * c], axis=1)


def matches(box, truth) -> bool:
    """A detection is the pasted face when its centre is within a quarter side of the crop's centre and its
    size is 30-150 % of the crop's side (MTCNN's box for a UTKFace crop is about 1.1-1.25 times the crop)."""
    cx, cy, side = truth[:3]
    ymin, xmin, ymax, xmax = box
    near = abs((xmin + xmax) / 2 - cx) < side / 4 and abs((ymin + ymax) / 2 - cy) < side / 4
    return near and 0.3 * side <= max(ymax - ymin, xmax - xmin) <= 1.5 * side


def scores(rows: list[dict], key: str, mean_age: float) -> dict:
    """Gender accuracy and age MAE of `key`'s answers, with the direct path and the baselines on the same faces."""
    answered = [r for r in rows if r[key] is not None]
    pick = lambda path: (np.mean([r[path]["predicted_gender"] == r["gender"] for r in answered]), np.mean([abs(r[path]["predicted_age"] - r["age"]) for r in answered]))  # noqa: E731
    acc, mae = pick(key)
    direct_acc, direct_mae = pick("direct")
    return {"n": len(rows), "answered": len(answered) / len(rows), "gender_acc": acc, "age_mae": mae,
            "direct_gender_acc_same_faces": direct_acc, "direct_age_mae_same_faces": direct_mae,
            "majority_male_acc_same_faces": np.mean([r["gender"] == "male" for r in answered]),
            "mean_age_mae_same_faces": np.mean([abs(r["age"] - mean_age) for r in answered])}  # fmt: skip


def main(n_faces: int, astronaut: Path) -> dict:
    utkface = find_shared_dataset("utkface")
    if utkface is None:
        sys.exit(missing_dataset_message("utkface"))
    names = sorted(p for p in (utkface / "images").iterdir() if split_of(p.name) == "test")
    names = names[:: max(1, len(names) // n_faces)][:n_faces]
    predictor = load_predictor(task="face-age-gender")
    mean_age = predictor.manifest["metrics"]["baselines"]["train_mean_age"]
    rng = np.random.default_rng(20)
    rows, latency, found, false_found, readable_false = [], [], 0, 0, 0
    for path in names:
        labels, crop = parse_utkface_name(path.name), np.asarray(Image.open(path).convert("RGB"))
        photo, truth = scene(crop, rng)
        start = time.perf_counter()
        answer = predict_one(predictor, photo, path.name)
        latency.append(time.perf_counter() - start)
        detections = detect_faces(photo, predictor.detector, min_face=DETECT_MIN_PX)
        hits = [matches(f.box, truth) for f in detections]
        found += any(hits)
        false_found += sum(not h for h in hits)
        readable_false += sum(not h and f.side >= MIN_FACE_PX for h, f in zip(hits, detections))
        through = predict_one(predictor, crop, path.name)
        rows.append({"id": path.name, "age": labels["age"], "gender": labels["gender"], "direct": predictor.predict_crops([crop])[0],
                     "crop": through.columns if through.ok else None, "scene": answer.columns if answer.ok else None,
                     "scene_refusal": None if answer.ok else answer.message, "crop_refusal": None if through.ok else through.message})  # fmt: skip
    n_detections = found + false_found
    direct = scores(rows, "direct", mean_age)
    report = {
        "faces": len(rows), "split": "UTKFace held-out test split (sha1 of file name), every k-th",
        "detector": {"recall": found / len(rows), "precision": found / n_detections if n_detections else float("nan"),
                     "false_detections": false_found, "false_detections_at_least_min_face": readable_false},
        "direct": direct, "crop_through_detector": scores(rows, "crop", mean_age), "scene": scores(rows, "scene", mean_age),
        "scene_vs_crop_same_faces": scores([r for r in rows if r["crop"] is not None], "scene", mean_age) | {"note": "direct_* columns here are the direct path"},
        "latency_ms_per_photo_batch1_median": 1000 * statistics.median(latency),
        "refusals": {"scene": sorted({r["scene_refusal"].split(";")[0] for r in rows if r["scene_refusal"]}), "crop": sorted({r["crop_refusal"].split(";")[0] for r in rows if r["crop_refusal"]})},
        "astronaut": _astronaut(predictor, astronaut),
    }  # fmt: skip
    # The crop-through-detector path on the faces both paths answered, against those same crops' scenes.
    both = [r for r in rows if r["crop"] is not None and r["scene"] is not None]
    report["scene_minus_crop_on_faces_both_answered"] = {
        "n": len(both),
        "gender_acc_points": 100 * (np.mean([r["scene"]["predicted_gender"] == r["gender"] for r in both]) - np.mean([r["crop"]["predicted_gender"] == r["gender"] for r in both])),
        "age_mae_years": np.mean([abs(r["scene"]["predicted_age"] - r["age"]) for r in both]) - np.mean([abs(r["crop"]["predicted_age"] - r["age"]) for r in both]),
    }  # fmt: skip
    return report


def _astronaut(predictor, path: Path) -> dict:
    rgb = decode_image(path).rgb
    answer = predict_one(predictor, rgb, path.name)
    return {"file": str(path.relative_to(REPO)), "size": list(rgb.shape[:2]), "status": answer.status, "message": answer.message, **answer.columns,
            "face_box": answer.details.get("face_box")}  # fmt: skip


def as_markdown(report: dict) -> str:
    lines = ["# Faces in photos (benchmarks/face_photos.py)", "", "research software, not a medical device.", "",
             f"{report['faces']} faces from the {report['split']}. Detector recall {report['detector']['recall']:.3f}, precision "
             f"{report['detector']['precision']:.3f} ({report['detector']['false_detections']} false detections, "
             f"{report['detector']['false_detections_at_least_min_face']} of them at least the minimum face size). "
             f"Latency {report['latency_ms_per_photo_batch1_median']:.0f} ms per photo (median, batch 1, detector + model).", "",
             "| path | n | answered | gender acc | age MAE (y) | direct: acc / MAE on same faces | majority acc | mean-age MAE |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in ("direct", "crop_through_detector", "scene", "scene_vs_crop_same_faces"):
        s = report[name]
        lines.append(f"| {name} | {s['n']} | {s['answered']:.3f} | {s['gender_acc']:.4f} | {s['age_mae']:.2f} | {s['direct_gender_acc_same_faces']:.4f} / "
                     f"{s['direct_age_mae_same_faces']:.2f} | {s['majority_male_acc_same_faces']:.4f} | {s['mean_age_mae_same_faces']:.2f} |")  # fmt: skip
    d = report["scene_minus_crop_on_faces_both_answered"]
    lines += ["", f"Scene minus crop-through-detector on the {d['n']} faces both answered: gender accuracy {d['gender_acc_points']:+.2f} points, age MAE {d['age_mae_years']:+.2f} years.",
              "", f"Astronaut: {json.dumps(report['astronaut'])}", "", f"Refusal reasons: {json.dumps(report['refusals'])}"]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    result = main(int(sys.argv[1]) if len(sys.argv) > 1 else 400, Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "examples" / "faces" / "astronaut.jpg")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "face_photos.json").write_text(json.dumps(result, indent=2, default=float))
    (RESULTS / "face_photos.md").write_text(as_markdown(result))
    print(as_markdown(result))
