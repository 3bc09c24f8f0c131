"""Face age + gender benchmark: held-out accuracy, size, parameters, ONNX Runtime CPU latency.

Usage: python benchmarks/face.py RUN_DIR [RUN_DIR ...]   (each a run folder written by
`vitalens train --task face-age-gender`, which evaluates it on the held-out split)

The split is UTKFace's fixed held-out part: sha1(file name) in the lowest 15 %
(`vitalens.tasks.face_age_gender.data.split_of`), never trained on or used for tuning. Latency is the median of
repeated ONNX Runtime runs on one thread (this machine's CPU is shared), after warm-up. The
validation columns are what a choice between runs may be made on; the held-out ones are only reported.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import torch

from vitalens.backbones import count_parameters
from vitalens.tasks.face_age_gender.model import INPUT_SIZE, load_face_model
from vitalens.tasks.face_age_gender.export import export_face_onnx


def onnx_latency_ms(path: Path, batch: int, repeats: int, threads: int = 1) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).random((batch, 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)}
    for _ in range(3):
        session.run(None, feed)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def validation_scores(run_dir: Path) -> dict:
    frame = pd.read_csv(run_dir / "predictions_validation.csv")
    predicted_female = frame["logit_female"] > frame["logit_male"]
    return {
        "val_gender_acc": float((predicted_female == (frame["gender"] == "female")).mean()),
        "val_age_mae": float((frame["predicted_age"] - frame["age"]).abs().mean()),
    }


def benchmark(run_dir: Path) -> dict:
    model, backbone = load_face_model(run_dir / "model.pt")
    report = json.loads((run_dir / "report.json").read_text())
    with tempfile.TemporaryDirectory() as scratch:
        onnx_path = export_face_onnx(model, Path(scratch) / "model.onnx")
        batch1 = onnx_latency_ms(onnx_path, 1, repeats=50)
        batch32 = onnx_latency_ms(onnx_path, 32, repeats=10)
        size_mb = onnx_path.stat().st_size / 1e6
    return {
        "model": backbone, **validation_scores(run_dir), "n_test": report["n_test"],
        "gender_acc": report["gender"]["accuracy"], "age_mae": report["age"]["mae"], "age_median_ae": report["age"]["median_ae"],
        "within_5y": report["age"]["within_5y"], "ece_after_T": report["calibration"]["ece_after"],
        "params_M": count_parameters(model) / 1e6, "onnx_MB": size_mb,
        "ms_batch1": batch1, "ms_per_face_batch32": batch32 / 32,
        "baseline_majority_acc": report["baselines"]["majority_gender_accuracy"], "baseline_mean_age_mae": report["baselines"]["mean_age_mae"],
    }  # fmt: skip


def main(run_dirs: list[str]) -> None:
    torch.set_num_threads(1)
    rows = [benchmark(Path(d)) for d in run_dirs]
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
