"""Nail/skin detector benchmark: session-grouped 3-fold CV table, training time, ONNX size, ORT latency.

    python benchmarks/detector.py cv    [--epochs 20] [--data ../shared/data/yakimov2024]
    python benchmarks/detector.py final [--epochs 20] [--onnx detector.onnx]
    python benchmarks/detector.py baseline   (mean-box baseline on the same folds; seconds)

`cv` writes out-of-fold detections (each photo predicted by the fold model that never saw its session)
to oof_detections.csv and benchmarks/results/detector_oof_detections.csv, and the metrics to
benchmarks/results/detector_cv.json. `final` trains on every photo, exports ONNX, checks ORT against
torch and times one 320x320 image. CPU threads: --threads (default 1; the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _data_dir(explicit: str | None) -> Path:
    candidates = [explicit, os.environ.get("VITALENS_SHARED_DATA") and f"{os.environ['VITALENS_SHARED_DATA']}/yakimov2024",
                  REPO.parent / "shared" / "data" / "yakimov2024", "/work/shared/data/yakimov2024"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise SystemExit("yakimov2024 data not found; pass --data or set VITALENS_SHARED_DATA")


def run_cv(args, photos) -> None:
    from vitalens.tasks.hb_nails.detector_training import DetectorTrainingConfig
    from vitalens.tasks.hb_nails.detector_validation import cross_validate_detector, format_metrics_table, write_detections_csv

    result = cross_validate_detector(photos, DetectorTrainingConfig(epochs=args.epochs))
    print(f"\nSession-grouped 3-fold CV ({len(photos)} photos, {len({p.group for p in photos})} sessions, "
          f"{args.epochs} epochs/fold), operating score >= 0.3 for P/R, IoU 0.5:")
    print(format_metrics_table(result.fold_metrics, result.pooled_metrics))
    print_baseline(photos)
    print(f"training + prediction time, 3 folds: {result.training_seconds / 60:.1f} min")
    csv_path = write_detections_csv(result.out_of_fold, REPO / "oof_detections.csv", result.fold_of)
    results_dir = REPO / "benchmarks" / "results"
    shutil.copy(csv_path, results_dir / "detector_oof_detections.csv")
    (results_dir / "detector_cv.json").write_text(json.dumps(
        {"epochs": args.epochs, "folds": result.fold_metrics, "pooled": result.pooled_metrics,
         "seconds": result.training_seconds}, indent=1))


def print_baseline(photos) -> None:
    from vitalens.tasks.hb_nails.detector_validation import format_metrics_table, mean_box_baseline

    print("\nbaseline, same folds: every held-out photo gets the training photos' mean boxes (score 1):")
    print(format_metrics_table(*mean_box_baseline(photos)))


def run_baseline(args, photos) -> None:
    print_baseline(photos)


def run_final(args, photos) -> None:
    import torch

    from vitalens.tasks.hb_nails.detector_model import export_detector_onnx
    from vitalens.tasks.hb_nails.detection import OnnxDetector, letterbox, to_detector_input
    from vitalens.tasks.hb_nails.detector_training import DetectorTrainingConfig, train_detector

    started = time.perf_counter()
    model = train_detector(photos, DetectorTrainingConfig(epochs=args.epochs))
    print(f"final model on {len(photos)} photos: {(time.perf_counter() - started) / 60:.1f} min")
    path = export_detector_onnx(model, args.onnx)
    torch.save(model.state_dict(), Path(args.onnx).with_suffix(".pt"))
    print(f"ONNX {path}: {path.stat().st_size / 1e6:.2f} MB")
    detector = OnnxDetector(path)
    square, _ = letterbox(photos[0].rgb)
    with torch.no_grad():
        torch_heatmap, torch_boxes = model(torch.from_numpy(to_detector_input(square)))
    ort_heatmap, ort_boxes = detector.raw(square)
    print(f"ORT vs torch max |diff|: heatmap {np.abs(ort_heatmap - torch_heatmap[0].numpy()).max():.2e}, "
          f"boxes {np.abs(ort_boxes - torch_boxes[0].numpy()).max():.2e} px")
    for _ in range(3):
        detector.raw(square)
    timings = []
    for _ in range(20):
        t = time.perf_counter()
        detector.detect(photos[0].rgb)
        timings.append(time.perf_counter() - t)
    print(f"ORT latency, one 800x600 photo (letterbox + 320x320 model + decode), CPU: median "
          f"{np.median(timings) * 1000:.1f} ms over 20 runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["cv", "final", "baseline"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--data")
    parser.add_argument("--onnx", default=str(REPO / "detector.onnx"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from vitalens.tasks.hb_nails.data import load_yakimov
    from vitalens.tasks.hb_nails.detector_training import load_detector_photos

    photos = load_detector_photos(load_yakimov(_data_dir(args.data)))
    {"cv": run_cv, "final": run_final, "baseline": run_baseline}[args.mode](args, photos)


if __name__ == "__main__":
    main()
