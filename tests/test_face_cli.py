"""The face-age-gender routes of the CLI: evaluate the shipped bundle torch-free, train, export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import shared_dataset

from vitalens.cli import app
from vitalens.tasks.face_age_gender.data import split_of


def utkface_images() -> Path:
    return shared_dataset("utkface/images")


def test_evaluate_route_scores_the_shipped_bundle_without_torch(tmp_path):
    data = utkface_images()
    script = (
        "import sys\n"
        "from vitalens.cli import app\n"
        f"try:\n    app(['evaluate', '--task', 'face-age-gender', '--data', r'{data}', '--limit', '40'])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported by evaluate'\n"
        "print('NO_TORCH_OK')\n"
    )
    # run in tmp_path (the run folder is experiments/...), importing this checkout's vitalens
    source = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert "NO_TORCH_OK" in completed.stdout, completed.stderr[-2000:]
    run = tmp_path / "experiments" / "face-bundle-eval"
    report = json.loads((run / "report.json").read_text())
    assert report["n_test"] == 40 and report["data"]["limited_to"] == 40
    assert set(report["audit"]) == {"race", "gender", "age_band"} and report["baselines"]["majority_gender"] in ("male", "female")
    assert 0.0 <= report["gender"]["accuracy"] <= 1.0 and report["age"]["mae"] > 0
    for figure in ("confusion_matrix.png", "age_predicted_vs_true.png", "error_by_group.png"):
        assert (run / figure).stat().st_size > 0


def test_bundle_evaluation_predicts_what_the_runtime_serves(tmp_path):
    """The evaluation's predictions are the serving path's: FacePredictor on the same crops."""
    from vitalens.tasks.face_age_gender.evaluation import evaluate_face_bundle
    from vitalens.imaging import decode_image
    from vitalens.runtime import load_predictor

    data = utkface_images()
    report = evaluate_face_bundle(None, data, tmp_path, n_boot=20, limit=12)
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert len(predictions) == 12 and (predictions["image_id"].map(split_of) == "test").all()
    predictor = load_predictor(None, "face-age-gender")
    served = predictor.predict_crops([decode_image(data / name).rgb for name in predictions["image_id"]])
    assert [row["predicted_gender"] for row in served] == predictions["predicted_gender"].tolist()
    assert [row["predicted_age"] for row in served] == pytest.approx(predictions["predicted_age"].tolist(), abs=0.051)
    assert report["model"]["sha256"] == predictor.card["model"]["sha256"]


def test_ensembles_are_refused_by_train(tmp_path):
    result = CliRunner().invoke(app, ["train", "--task", "face-age-gender", "--data", str(tmp_path), "--backbone", "seed-mtl+lite0"])
    assert result.exit_code != 0 and "run_face_ensemble" in str(result.exception)


def test_face_export_refuses_int8(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"")
    (tmp_path / "training.json").write_text(json.dumps({"backbone": "seed-mtl"}))
    result = CliRunner().invoke(app, ["export", "--run", str(tmp_path), "--out", str(tmp_path / "bundle"), "--int8"])
    assert result.exit_code != 0 and "float32" in str(result.exception) and not (tmp_path / "bundle").exists()


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["seed-mtl", "seed-mtl:mirror"])
def test_train_then_export_then_predict_through_the_cli(tmp_path, backbone):
    data = utkface_images()
    import torch

    torch.set_num_threads(1)
    runner, run, bundle = CliRunner(), tmp_path / "run", tmp_path / "bundle"
    trained = runner.invoke(app, ["train", "--task", "face-age-gender", "--data", str(data), "--out", str(run), "--backbone", backbone,
                                  "--limit", "200", "--epochs", "1", "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    assert trained.exit_code == 0, trained.output + repr(trained.exception)
    report = json.loads((run / "report.json").read_text())
    assert report["n_test"] > 0 and "gender accuracy" in trained.output and (run / "model.onnx").is_file()
    assert (run / "member" / "model.pt").is_file() == backbone.endswith(":mirror")
    exported = runner.invoke(app, ["export", "--run", str(run), "--out", str(bundle)])
    assert exported.exit_code == 0, exported.output + repr(exported.exception)
    assert (bundle / "MODEL_CARD.md").read_text().startswith("---\nlicense: other")
    manifest = json.loads((bundle / "bundle.json").read_text())
    assert manifest["metrics"]["n"] == report["n_test"] and manifest["model"]["backbone"] == backbone
    example = Path(__file__).resolve().parents[1] / "examples" / "faces"
    predicted = runner.invoke(app, ["predict", "--task", "face-age-gender", "--model", str(bundle), "--data", str(example), "--out", str(tmp_path / "faces.csv")])
    assert predicted.exit_code == 0, predicted.output
    assert pd.read_csv(tmp_path / "faces.csv")["predicted_gender"].isin(["male", "female"]).all()
