"""MTCNN (the shipped face detector) against MediaPipe's BlazeFace, the other offline candidate issue 20 named,
on the same photo-sized scenes as benchmarks/face_photos.py (held-out UTKFace crops pasted at 180-480 px,
turned up to 12 degrees, on random backgrounds).

For each detector:
- recall: the scene's face found (benchmarks/face_photos.matches);
- false detections per scene: any other box;
- landmark stability: the eyes and nose it finds on the crop, carried into the scene by the known paste
  (scale, turn, shift), against the ones it finds in the scene, in inter-ocular distances (median and 90th
  percentile). Alignment is only as good as this. There are no ground-truth landmarks here, so agreement
  with a reference is not measured;
- latency: the median seconds per scene at batch 1. MTCNN runs in onnxruntime here; BlazeFace runs in
  tflite-runtime in its own virtualenv (benchmarks/blazeface_sidecar.py says how to make one).

    python benchmarks/face_detectors.py --blazeface-python /tmp/bf/bin/python [--faces 200]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from vitalens.bundle import load_bundle, shipped_bundle_path
from vitalens.data.shared import find_shared_dataset
from vitalens.imaging import decode_image
from vitalens.regions.faces import detect_faces
from vitalens.tasks.face_age_gender.data import split_of
from vitalens.tasks.face_age_gender.regions import DETECT_MIN_PX, detector_sessions

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("face_photos", REPO / "benchmarks" / "face_photos.py")
face_photos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(face_photos)


def mtcnn(folder: Path) -> dict:
    sessions = detector_sessions(load_bundle(shipped_bundle_path("face-age-gender")))
    out = {}
    for path in sorted(folder.glob("*.png")):
        rgb = decode_image(path).rgb
        started = time.perf_counter()
        faces = detect_faces(rgb, sessions, min_face=DETECT_MIN_PX)
        out[path.name] = {"seconds": time.perf_counter() - started,
                          "faces": [{"box": list(f.box), "score": f.score, "keypoints": f.landmarks.tolist()} for f in faces]}  # fmt: skip
    return out


def blazeface(python: str, folder: Path, model: str) -> dict:
    done = subprocess.run([python, str(REPO / "benchmarks" / "blazeface_sidecar.py"), str(folder), model], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def score(found: dict, truths: dict) -> dict:
    hits, false, drift, seconds = 0, 0, [], []
    for name, (truth, crop_side) in truths.items():
        scene, crop = found[f"{name}_scene.png"], found[f"{name}_crop.png"]
        seconds.append(scene["seconds"])
        matched = [f for f in scene["faces"] if face_photos.matches(f["box"], truth)]
        hits += bool(matched)
        false += len(scene["faces"]) - len(matched)
        if matched and crop["faces"]:
            on_crop = np.asarray(crop["faces"][0]["keypoints"])[:3]  # eyes and nose, first in both detectors' order
            expected = face_photos.crop_to_scene(on_crop, crop_side, truth)
            got = np.asarray(max(matched, key=lambda f: f["score"])["keypoints"])[:3]
            drift.append(float(np.max(np.hypot(*(got - expected).T)) / np.hypot(*(expected[1] - expected[0]))))
    n = len(truths)
    return {"recall": hits / n, "false_per_scene": false / n, "landmark_drift_median": float(np.median(drift)),
            "landmark_drift_p90": float(np.percentile(drift, 90)), "n_drift": len(drift), "median_s": float(np.median(seconds))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blazeface-python", required=True)
    parser.add_argument("--faces", type=int, default=200)
    args = parser.parse_args()
    images = find_shared_dataset("utkface/images")
    held_out = sorted(p for p in images.glob("*.jpg*") if split_of(p.name) == "test")
    held_out = held_out[:: max(1, len(held_out) // args.faces)][: args.faces]
    rng = np.random.default_rng(20)
    truths = {}
    with tempfile.TemporaryDirectory() as folder:
        for k, path in enumerate(held_out):
            crop = decode_image(path).rgb
            photo, truth = face_photos.scene(crop, rng)
            Image.fromarray(photo).save(Path(folder) / f"{k:04d}_scene.png")
            Image.fromarray(crop).save(Path(folder) / f"{k:04d}_crop.png")
            truths[f"{k:04d}"] = (truth, crop.shape[1])
        results = {"MTCNN (shipped)": score(mtcnn(Path(folder)), truths)}
        for model in ("BACK_CAMERA", "FULL"):
            results[f"BlazeFace {model.lower()}"] = score(blazeface(args.blazeface_python, Path(folder), model), truths)
    print(f"{len(truths)} scenes from held-out UTKFace crops; landmark drift in inter-ocular distances (eyes and nose)\n")
    print("| detector | recall | false detections per scene | landmark drift, median | 90th percentile | median s per scene |\n|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['recall']:.3f} | {r['false_per_scene']:.3f} | {r['landmark_drift_median']:.3f} | {r['landmark_drift_p90']:.3f} | {r['median_s']:.3f} |")
    (REPO / "benchmarks" / "results" / "face_detectors.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
