"""train → evaluate → export → predict on the real fingernail photos (skipped without ../shared)."""

import csv
import json

import pytest

from vitalens import runs
from vitalens.tasks._haemoglobin.config import load_config
from vitalens.tasks.hb_nails.export import export_bundle
from vitalens.predict import predict_dataset


@pytest.mark.slow
def test_real_data_train_evaluate_predict(yakimov_dir, tmp_path):
    config = load_config(data=str(yakimov_dir), scheme="kfold", n_splits=3, head="ridge", n_boot=100, experiments_dir=str(tmp_path), run_name="e2e")
    run_dir, report = runs.train(config, show_progress=False)
    for name in ("config.yaml", "report.json", "report.md", "metrics.csv", "predictions.csv", "model.joblib"):
        assert (run_dir / name).is_file(), name
    figures = sorted(p.name for p in (run_dir / "figures").iterdir())
    assert {"predicted_vs_true.png", "bland_altman.png", "error_by_severity.png", "error_by_skin_tone_group.png"} <= set(figures)
    saved = json.loads((run_dir / "report.json").read_text())
    assert "not a medical device" in saved["disclaimer"] and "not a medical device" in (run_dir / "report.md").read_text()
    # Colour physics carries real signal: the model beats the mean predictor on held-out sessions.
    assert saved["model"]["mae"] < saved["mean_predictor"]["mae"] - 0.1
    assert 0.75 <= saved["conformal"]["empirical_coverage"] <= 1.0
    with open(run_dir / "predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == saved["data"]["images"] and {r["fold"] for r in rows} == {"0", "1", "2"}

    bundle = export_bundle(run_dir, tmp_path / "bundle")
    run = predict_dataset(yakimov_dir, bundle, "hb-nails")
    predictions, problems = run.rows, run.problems
    assert not problems and len(predictions) == saved["data"]["images"]
    assert all(row["status"] == "ok" and row["n_nails"] == 3 for row in predictions)
