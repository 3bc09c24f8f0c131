"""`train` and `export` of the skin task on a small synthetic Fitzpatrick17k-layout folder: both candidates,
the choice between them, lighting heads, student, the run folder's files, ONNX export and the bundle. Synthetic photos only
(never Fitzpatrick17k's: they are non-commercial), so it runs without ../shared."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

CLASSES = {"eczema": ("non-neoplastic", (200, 120, 110)), "melanoma": ("malignant", (90, 60, 50)), "keloid": ("benign", (170, 110, 90))}
PER_CLASS = 18


def _synthetic_fitzpatrick(folder):
    """Photos whose class sets the colour of a blob on textured skin; random texture keeps their hashes apart."""
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True)
    rows = []
    for label, (partition, colour) in CLASSES.items():
        for index in range(PER_CLASS):
            skin = rng.integers(150, 230, 3)
            image = np.clip(skin + rng.normal(0, 25, (120, 150, 3)), 0, 255)
            y, x = np.ogrid[:120, :150]
            blob = (y - 60 - rng.integers(-15, 15)) ** 2 + (x - 75 - rng.integers(-20, 20)) ** 2 < rng.integers(300, 900)
            image[blob] = np.array(colour) + rng.normal(0, 10, (int(blob.sum()), 3))
            image_id = f"{label.replace(' ', '')}{index:03d}"
            Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / "images" / f"{image_id}.jpg")
            skin_type = index % 6 + 1
            rows.append({"md5hash": image_id, "label": label, "fitzpatrick_scale": skin_type, "fitzpatrick_centaur": skin_type,
                         "nine_partition_label": partition, "three_partition_label": partition, "qc": ""})  # fmt: skip
    with (folder / "labels.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


@pytest.mark.slow
def test_train_writes_the_run_folder_with_both_candidates_and_export_writes_a_working_bundle(tmp_path, monkeypatch):
    from vitalens.bundle import load_bundle
    from vitalens.runs import Job, check_run_folder, write_config
    from vitalens.tasks import get_task
    from vitalens.tasks.skin_condition import lifecycle
    from vitalens.tasks.skin_condition.fitting import SkinTrainingConfig
    from vitalens.tasks.skin_condition.runtime import SkinPredictor

    torch.manual_seed(0)
    torch.set_num_threads(1)
    data = _synthetic_fitzpatrick(tmp_path / "data")
    monkeypatch.chdir(tmp_path)  # the pixel caches go to ./experiments/cache
    assert lifecycle.training_config({"epochs": None}) == SkinTrainingConfig() and lifecycle.training_config({"epochs": 2}).epochs == 2
    # `-o epochs=1` is the only training option; the rest of the recipe is shrunk for a synthetic run (one probe trunk, small photos)
    shrunk = lambda options: SkinTrainingConfig(epochs=options["epochs"], calibration_steps=2, calibration_batch=8, batch_size=16,  # noqa: E731
                                                probe_backbones=("efficientnet_lite0",), probe_size=96)
    monkeypatch.setattr(lifecycle, "training_config", shrunk)
    task = get_task("skin-condition")
    job = Job(task.name, "train", data, tmp_path / "run", task.parse_options("train", {"epochs": "1"}), show_progress=False)
    write_config(job)
    report = task.verb("train")(job)
    run = check_run_folder(job.out)
    info = json.loads((run / "training.json").read_text())
    assert info["config"]["epochs"] == 1 and set(info["candidates"]) == {"phased fine-tune", "depth probe"}
    assert info["shipped"] == max(info["candidates"], key=lambda name: info["candidates"][name]["val_top1"])
    other = next(name for name in info["candidates"] if name != info["shipped"])
    assert (run / f"predictions_test_{other.replace(' ', '_').replace('-', '_')}.csv").is_file() and (run / "student.pt").is_file()

    cross = pd.read_csv(run / "predictions_cv_depth_probe.csv")
    split = pd.read_csv(run / "split.csv").set_index("image_id")["split"]
    assert set(split[cross["image_id"]]) == {"train", "validation"} and len(cross) == int((split != "test").sum())
    assert (cross.groupby("group")["fold"].nunique() == 1).all() and cross["fold"].nunique() == 5  # a group is scored by one fold only

    assert [row["metric"] for row in report["headline"]] == ["top1", "top3", "macro_f1"] and "held-out" in report["validation"]
    assert report["cross_validated"]["n"] == len(cross) and 0 <= report["cross_validated"]["metrics"]["top1"]["value"] <= 1
    assert set(report["cross_validated"]["fitzpatrick_case_mix"]) == set(cross["fitzpatrick_group"].fillna("unknown"))
    shipped = f"shipped model ({info['shipped']})"
    assert {shipped, f"candidate: {other}", "frozen Lite0 + logistic", "majority class (train)"} <= set(report["comparison"])
    assert report["n_test"] > 0 and 0 <= report["comparison"][shipped]["top1"]["value"] <= 1
    margin = report["top1_over_frozen_baseline"]
    assert margin["difference"] == pytest.approx(report["comparison"][shipped]["top1"]["value"] - report["comparison"]["frozen Lite0 + logistic"]["top1"]["value"])
    assert report["onnx"]["gap_vs_torch"]["diagnosis_probs"] < 1e-2
    held_out = pd.read_csv(run / "predictions.csv")
    assert len(held_out) == report["n_test"] and set(split[held_out["image_id"]]) == {"test"}
    assert set(pd.read_csv(run / "metrics.csv")["model"]) == set(report["comparison"])
    assert (run / "figures" / "confusion_matrix.png").is_file()

    bundle = task.verb("export")(Job(task.name, "export", run, tmp_path / "bundle"))
    loaded = load_bundle(bundle)
    assert loaded.files() == ["bundle.json", "model.onnx"] and loaded.manifest["metrics"]["shipped"] == shipped
    predictor = SkinPredictor(loaded)
    prediction = predictor.predict_image(np.asarray(Image.open(next((data / "images").iterdir())).convert("RGB")), "one.jpg")
    assert prediction.ok and prediction.columns["lighting"] in ("good", "poor") and np.array(prediction.details["heatmap"]["values"]).shape == (-(-loaded.manifest["model"]["input_size"] // 32),) * 2  # the stride-32 map
    assert (run / "figures" / "gallery_correct.png").is_file() and "## Evaluation" in (bundle / "MODEL_CARD.md").read_text()
