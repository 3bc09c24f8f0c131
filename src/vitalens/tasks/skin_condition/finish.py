"""After training: the ONNX graph of the shipped candidate checked against torch, the held-out report, and the
Grad-CAM gallery drawn through a bundle's graph (the torch-free path)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from vitalens.tasks.skin_condition.run_folder import figures_dir

GRAPH_FILE = "model.onnx"


def finish_skin_run(run_dir: str | Path, n_boot: int = 1000) -> dict:
    """Export the shipped candidate's ONNX graph (run/model.onnx), check it against torch, and write the
    held-out report with those checks in it."""
    from vitalens.backbones import count_parameters
    from vitalens.tasks.skin_condition.evaluation import evaluate_skin_run
    from vitalens.tasks.skin_condition.export import export_skin_onnx, onnx_torch_gap
    from vitalens.tasks.skin_condition.network import load_skin_model

    run_dir = Path(run_dir)
    model, saved = load_skin_model(run_dir / "model.pt")
    onnx_path = export_skin_onnx(model, saved["temperature"], run_dir / GRAPH_FILE)
    exported = {"onnx": {"gap_vs_torch": onnx_torch_gap(model, saved["temperature"], onnx_path), "megabytes": onnx_path.stat().st_size / 1e6},
                "teacher_parameters": count_parameters(model)}  # fmt: skip
    if (run_dir / "student.pt").is_file():
        exported["student_parameters"] = count_parameters(load_skin_model(run_dir / "student.pt")[0])
    return evaluate_skin_run(run_dir, n_boot=n_boot, extra=exported)


def export_skin_run(run_dir: str | Path, bundle_dir: str | Path, data_dir: str | Path | None) -> Path:
    """The bundle of a finished run (its model.pt, the graph `finish_skin_run` exported, its report.json),
    then the Grad-CAM gallery through that bundle when the run's photos are at hand."""
    from vitalens.tasks.skin_condition.export import export_skin_onnx, write_skin_bundle
    from vitalens.tasks.skin_condition.network import load_skin_model

    run_dir = Path(run_dir)
    model, saved = load_skin_model(run_dir / "model.pt")
    onnx_path = run_dir / GRAPH_FILE
    if not onnx_path.is_file():
        export_skin_onnx(model, saved["temperature"], onnx_path)
    report = json.loads((run_dir / "report.json").read_text())
    split = pd.read_csv(run_dir / "split.csv")
    partitions = dict(zip(split["label"], split["three_partition"]))
    bundle = write_skin_bundle(model, onnx_path, saved["classes"], {c: partitions[c] for c in saved["classes"]}, saved["temperature"],
                               saved["lighting_threshold"], report, bundle_dir)  # fmt: skip
    if data_dir is not None and Path(data_dir).is_dir():
        gallery(run_dir, data_dir, bundle)
    return bundle


def gallery(run_dir: Path, data_dir: str | Path, bundle_dir: str | Path, per_kind: int = 8) -> list[Path]:
    """Heat maps of correct and wrong held-out predictions, computed by the shipped ONNX graph.
    Written to the run folder only: the photos are CC BY-NC-SA and never go into the repository."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from vitalens.imaging import decode_image
    from vitalens.bundle import load_bundle
    from vitalens.tasks.skin_condition.runtime import SkinPredictor

    predictor = SkinPredictor(load_bundle(bundle_dir))
    test = pd.read_csv(run_dir / "predictions_test.csv").sort_values("image_id")
    images_dir = Path(data_dir) / "images"
    results = []
    for row in test.itertuples():
        rgb = decode_image(images_dir / f"{row.image_id}.jpg").rgb
        result = predictor.predict(rgb, row.image_id)
        results.append((row.label, result, rgb))
        if sum(r["top"][0]["label"] == t for t, r, _ in results) >= per_kind and sum(r["top"][0]["label"] != t for t, r, _ in results) >= per_kind:
            break
    written = []
    for kind, keep in (("correct", True), ("wrong", False)):
        chosen = [(t, r, rgb) for t, r, rgb in results if (r["top"][0]["label"] == t) == keep][:per_kind]
        figure, axes = plt.subplots(2, per_kind, figsize=(2.2 * per_kind, 4.8))
        for column, (truth, result, rgb) in enumerate(chosen):
            crop = predictor.crop(rgb)
            heat = np.asarray(Image.fromarray((result["heatmap"] * 255).astype(np.uint8)).resize(crop.shape[:2][::-1], Image.BILINEAR)) / 255.0
            axes[0, column].imshow(crop)
            axes[1, column].imshow(crop)
            axes[1, column].imshow(heat, cmap="jet", alpha=0.45, vmin=0, vmax=1)
            axes[0, column].set_title(f"true: {truth}", fontsize=6)
            axes[1, column].set_title(f"{result['top'][0]['label']} {result['top'][0]['probability']:.2f}", fontsize=6)
            for axis in axes[:, column]:
                axis.axis("off")
        figure.suptitle(f"Grad-CAM of the top prediction, {kind} held-out cases (research only, not a diagnosis)", fontsize=9)
        figure.tight_layout()
        path = figures_dir(run_dir) / f"gallery_{kind}.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    return written
