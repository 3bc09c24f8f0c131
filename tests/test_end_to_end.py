"""train → export → predict on the real fingernail photos, as the spine runs the verbs (skipped without ../shared)."""

import csv
import json

import pytest

from vitalens.data import load_dataset
from vitalens.predict import iter_predictions
from vitalens.runs import Job, check_run_folder, write_config
from vitalens.runtime import load_predictor
from vitalens.tasks import get_task


@pytest.mark.slow
def test_real_data_train_export_predict(yakimov_dir, tmp_path):
    task = get_task("hb-nails")
    options = task.parse_options("train", {"scheme": "kfold", "n_splits": "3", "head": "ridge", "n_boot": "100", "protocol": "single"})
    job = Job(task.name, "train", yakimov_dir, tmp_path / "e2e", options, show_progress=False)
    write_config(job)
    report = task.verb("train")(job)
    run_dir = check_run_folder(job.out)
    kept = json.loads((run_dir / "model.json").read_text())  # plain numbers, never a pickle
    assert kept["model"]["head"] == "ridge" and len(kept["weights"]) > 0 and not list(run_dir.glob("*.joblib"))
    figures = sorted(p.name for p in (run_dir / "figures").iterdir())
    assert {"predicted_vs_true.png", "bland_altman.png", "error_by_severity.png", "error_by_skin_tone_group.png"} <= set(figures)
    saved = json.loads((run_dir / "report.json").read_text())
    assert "not a medical device" in saved["disclaimer"] and "not a medical device" in (run_dir / "report.md").read_text()
    assert saved["headline"] == report["headline"] and "Yakimov" in saved["citation"]
    # Colour physics carries real signal: the model beats the mean predictor on held-out sessions.
    mae = next(row for row in report["headline"] if row["metric"] == "mae")
    assert mae["model"] < mae["baseline"] - 0.1
    assert 0.75 <= saved["conformal"]["empirical_coverage"] <= 1.0
    with open(run_dir / "predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == saved["data"]["images"] and {r["fold"] for r in rows} == {"0", "1", "2"}

    bundle = task.verb("export")(Job(task.name, "export", run_dir, tmp_path / "bundle", task.parse_options("export", {})))
    predictions = list(iter_predictions(load_dataset(yakimov_dir, task), load_predictor(bundle)))
    assert len(predictions) == saved["data"]["images"]
    assert all(p.status == "ok" and p.columns["n_nails"] == 3 and p.columns["regions_from"] == "annotated" for p in predictions)
