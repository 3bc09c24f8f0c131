"""Inference speed on this CPU: ONNX Runtime vs PyTorch eager for the same graphs, int8 size/accuracy,
the warm per-photo time of the shipped runtime (annotated boxes, and raw photos through the quality
gate + detector), and a cold `vitalens predict` on one photo (process start included).

    python benchmarks/speed.py [--data ../shared/data/yakimov2024]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from timing import median_ms  # benchmarks/ is on sys.path when a benchmark runs
from vitalens.tasks._haemoglobin.config import load_config
from vitalens.tasks.hb_nails.export import export_onnx, graph_for, quantize_int8
from vitalens.tasks.hb_nails.model import NailHbRegressor
from vitalens.tasks.hb_nails.regions import region_inputs
from vitalens.tasks.hb_nails.lifecycle import prepare

REPO = Path(__file__).resolve().parents[1]


def compare(label: str, features: str, crop: int, data_dir: str, folder: Path) -> None:
    config = load_config(data=data_dir, features=features, head="ridge", crop_size=crop)
    data = prepare(config, show_progress=False)
    model = NailHbRegressor(**config.model_params()).fit(data.regions, data.y, data.groups)
    graph = graph_for(model)
    onnx_path = export_onnx(graph, folder / f"{features}.onnx", crop)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    per_photo = [region_inputs(r) for r in data.regions]
    all_feeds = {name: np.concatenate([feeds[name] for feeds in per_photo]) for name in graph.inputs}
    repeats = 200 if features == "colour" else 20
    for batch in (3, 96):
        tensors = [torch.from_numpy(all_feeds[name][:batch]) for name in graph.inputs]
        feeds = {i.name: all_feeds[i.name][:batch] for i in session.get_inputs()}  # the exporter drops unused inputs
        with torch.no_grad():
            eager = median_ms(lambda: graph(*tensors), repeats)
        onnx = median_ms(lambda: session.run(None, feeds), repeats)
        print(f"{label:22s} batch {batch:3d} nails: eager {eager:8.2f} ms  ORT {onnx:8.2f} ms  speed-up {eager / onnx:5.1f}x  ({batch / onnx * 1000:8.0f} nails/s ORT)")
    float_size = onnx_path.stat().st_size
    all_feeds = {i.name: all_feeds[i.name] for i in session.get_inputs()}
    float_pred = session.run(None, all_feeds)[0]
    quantized = quantize_int8(export_onnx(graph, folder / f"{features}-q.onnx", crop))
    q_session = ort.InferenceSession(str(quantized), providers=["CPUExecutionProvider"])
    q_pred = q_session.run(None, all_feeds)[0]
    photo = np.concatenate([[i] * len(r) for i, r in enumerate(data.regions)])
    mae = lambda p: float(np.mean(np.abs(np.array([np.median(p[photo == i]) for i in range(len(data.regions))]) - data.y)))  # noqa: E731
    print(f"{label:22s} size float32 {float_size / 1e6:.3f} MB, int8 {quantized.stat().st_size / 1e6:.3f} MB; in-sample MAE float {mae(float_pred):.3f} vs int8 {mae(q_pred):.3f} (Δ {mae(q_pred) - mae(float_pred):+.3f})")


def cold_predict_seconds(data: Path, check: bool) -> float:
    """Median wall time of three fresh `vitalens predict` processes on `data`."""
    with tempfile.TemporaryDirectory() as tmp:
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "vitalens.cli", "predict", "--task", "hb-nails", "--data", str(data), "--out", f"{tmp}/p.csv"], check=check, capture_output=True)
            timings.append(time.perf_counter() - started)
    return float(np.median(timings))


def warm_pipeline() -> None:
    """Per photo, the shipped runtime already loaded: from annotated boxes, and from the raw photo."""
    from vitalens.data import load_dataset
    from vitalens.imaging import decode_image
    from vitalens.runtime import load_predictor

    predictor = load_predictor(task="hb-nails")
    for sample in load_dataset(REPO / "examples" / "nails").samples[:2]:
        rgb = decode_image(sample.image_path).rgb
        boxed = median_ms(lambda: predictor.predict(rgb, sample.boxes["nail"], sample.boxes["skin"]), 50)
        raw = median_ms(lambda: predictor.predict(rgb), 30)
        print(f"warm runtime, {rgb.shape[1]}x{rgb.shape[0]} photo {sample.image_id}: annotated boxes {boxed:6.1f} ms, "
              f"raw photo (quality gate + detector + regressor) {raw:6.1f} ms")


def cold_predict() -> None:
    raw = cold_predict_seconds(REPO / "examples" / "nails" / "yakimov2024_341.png", check=True)
    print(f"cold `vitalens predict` on one raw photo (detector + regressor, process start included): median {raw:.2f} s")
    with_boxes = cold_predict_seconds(REPO / "examples" / "nails", check=True)
    print(f"cold `vitalens predict` on the 4 example photos with boxes (process start included): median {with_boxes:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "yakimov2024"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        compare("colour (shipped)", "colour", 32, args.data, Path(tmp))
        compare("colour_red", "colour_red", 32, args.data, Path(tmp))
        compare("cnn lite0 @96", "cnn", 96, args.data, Path(tmp))
    warm_pipeline()
    cold_predict()


if __name__ == "__main__":
    main()
