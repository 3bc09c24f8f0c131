"""Skin condition + lighting on Fitzpatrick17k-AJL: train (optional), evaluate on the fixed held-out
split and print the tables (beside the majority-class and frozen-Lite0+logistic baselines), the
lighting-statistics percentiles behind the documented thresholds, and ITA° vs Fitzpatrick agreement.

    python benchmarks/skin.py --run experiments/skin-main            # evaluate an existing run
    python benchmarks/skin.py --run experiments/skin-main --train    # train it first (~1 h on one CPU thread)
    python benchmarks/skin.py --run experiments/skin-main --ship     # also write src/vitalens/bundles/skin-condition

Research software, not a medical device.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from vitalens import DISCLAIMER

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    from vitalens.data.shared import find_shared_dataset, missing_dataset_message

    return find_shared_dataset("fitzpatrick17k-ajl") or sys.exit(missing_dataset_message("fitzpatrick17k-ajl"))


def lighting_statistics(run_dir: Path, data: Path) -> None:
    """Percentiles of the measured lighting statistics on the training photos (where the thresholds were set)."""
    import pandas as pd

    from vitalens.tasks.skin_condition.data import load_fitzpatrick17k
    from vitalens.tasks.skin_condition.pixels import load_skin_pixels
    from vitalens.tasks.skin_condition.split import TEACHER_SIZE
    from vitalens.tasks.skin_condition.lighting import LightingThresholds, measure_lighting

    split = pd.read_csv(run_dir / "split.csv")
    loaded = load_skin_pixels(load_fitzpatrick17k(data), TEACHER_SIZE, progress=False)
    train = set(split.loc[split["split"] == "train", "image_id"])
    rows = []
    for sample, pixels in zip(loaded.dataset.samples, loaded.pixels):
        if sample.image_id in train:
            m = measure_lighting(pixels)
            q = m.quality
            rows.append((q.mean_brightness, q.clipped_fraction, q.highlight_fraction, m.contrast, m.mean_a, m.mean_b, float(np.hypot(m.mean_a, m.mean_b)), q.sharpness))
    values = np.array(rows)
    names = ("mean brightness", "clipped fraction", "highlight fraction", "contrast", "mean a*", "mean b*", "chroma", "sharpness")
    print(f"\n## Lighting statistics, {len(values)} training photos (percentiles 1 / 5 / 50 / 95 / 99)\n")
    for name, column in zip(names, values.T):
        print(f"- {name}: " + " / ".join(f"{v:.3g}" for v in np.percentile(column, [1, 5, 50, 95, 99])))
    print(f"\nThresholds: {LightingThresholds()}")


def latency_ms(onnx_path: Path) -> float:
    import onnxruntime as ort

    from timing import median_ms

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    size = session.get_inputs()[0].shape[-1]
    image = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    return median_ms(lambda: session.run(None, {"image": image}), repeats=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=REPO / "experiments" / "skin-main")
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--ship", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = data_dir()
    if args.train:
        from vitalens.tasks.skin_condition.training import run_skin_training

        run_skin_training(data, args.run)
    from vitalens.tasks.skin_condition.finish import export_skin_run, finish_skin_run
    from vitalens.tasks.skin_condition.report_markdown import markdown

    report = finish_skin_run(args.run)
    if args.ship:
        export_skin_run(args.run, REPO / "src" / "vitalens" / "bundles" / "skin-condition", data)
    print(DISCLAIMER)
    print(markdown(report))
    print(f"ONNX: {report['onnx']}; parameters: teacher {report['teacher_parameters']:,}, student {report.get('student_parameters', 0):,}")
    print(f"ONNX Runtime, one thread, batch 1: {latency_ms(args.run / 'model.onnx'):.1f} ms per photo (median of 20 after warm-up)")
    print(json.dumps(report["training"], indent=1, default=float))
    lighting_statistics(args.run, data)


if __name__ == "__main__":
    main()
