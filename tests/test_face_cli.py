"""The face-age-gender verbs through the CLI and the lifecycle: evaluate the shipped bundle torch-free
into a complete run folder, refuse options a verb does not take, predict with the contract's columns,
and (slow) train, export, predict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from conftest import shared_dataset

from vitalens.cli import app
from vitalens.runs import RUN_FILES, Job, check_run_folder, missing_run_files, write_config
from vitalens.tasks.face_age_gender import TASK
from vitalens.tasks.face_age_gender.data import load_utkface, split_of

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "faces"
CONTRACT = ["image_id", "status", "reasons", "message"]


def utkface_images() -> Path:
    return shared_dataset("utkface/images")


def test_evaluate_writes_every_run_file_without_torch(tmp_path):
    data, run = utkface_images(), tmp_path / "run"
    script = (
        "import sys\n"
        "from vitalens.cli import app\n"
        f"try:\n    app(['evaluate', '--task', {TASK.name!r}, '--data', r'{data}', '-o', 'limit=40', '--out', r'{run}'])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported by evaluate'\n"
        "print('NO_TORCH_OK')\n"
    )
    source = str(Path(__file__).resolve().parents[1] / "src")  # this checkout's vitalens, whatever is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert "NO_TORCH_OK" in completed.stdout, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert missing_run_files(run) == [] and set(RUN_FILES) <= {p.name for p in run.iterdir()}
    assert yaml.safe_load((run / "config.yaml").read_text())["options"]["limit"] == 40
    report = json.loads((run / "report.json").read_text())
    assert report["answered"]["of"] == 40 and report["n_test"] == report["answered"]["n"] >= 36
    assert report["data"]["limited_to"] == 40 and report["task"] == TASK.name
    assert [row["metric"] for row in report["headline"]] == ["gender accuracy", "age MAE (years)"]
    assert set(report["audit"]) == {"race", "gender", "age_band"} and report["baselines"]["majority_gender"] in ("male", "female")
    assert 0.0 <= report["gender"]["accuracy"] <= 1.0 and report["age"]["mae"] > 0
    for figure in ("confusion_matrix.png", "age_predicted_vs_true.png", "error_by_group.png"):
        assert (run / "figures" / figure).stat().st_size > 0
    assert "Smoke run" in (run / "report.md").read_text() and "gender accuracy" in completed.stdout


def test_bundle_evaluation_predicts_what_the_runtime_serves(tmp_path):
    """The evaluation's predictions are the serving path's: FacePredictor.predict_image on the same photos."""
    from vitalens.imaging import decode_image
    from vitalens.runtime import load_predictor
    from vitalens.tasks.face_age_gender import lifecycle

    data = utkface_images()
    job = Job(TASK.name, "evaluate", data, tmp_path / "run", TASK.parse_options("evaluate", {"limit": "12"}), show_progress=False)
    write_config(job)
    report = lifecycle.evaluate(job)
    check_run_folder(job.out)
    predictions = pd.read_csv(job.out / "predictions.csv")
    assert (predictions["image_id"].map(split_of) == "test").all()
    predictor = load_predictor(None, TASK.name)
    tried = [s.image_id for s in load_utkface(data).samples if s.attributes["split"] == "test"]
    tried = tried[:: max(1, len(tried) // 12)][:12]  # the spread evaluate's limit keeps
    served = [predictor.predict_image(decode_image(data / name).rgb, name) for name in tried]
    answered = report["answered"]
    assert answered["of"] == 12 and answered["n"] == len(predictions) == sum(p.ok for p in served) >= 10
    assert sum(answered["refusals"].values()) == 12 - answered["n"]
    served = [p for p in served if p.ok]
    assert [p.image_id for p in served] == predictions["image_id"].tolist()
    assert [p.columns["predicted_gender"] for p in served] == predictions["predicted_gender"].tolist()
    assert [p.columns["predicted_age"] for p in served] == pytest.approx(predictions["predicted_age"].tolist(), abs=0.051)
    assert [p.columns["probability_female"] for p in served] == pytest.approx(predictions["probability_female"].tolist(), abs=0.00005)
    assert report["model"]["sha256"] == predictor.manifest["model"]["sha256"]


def test_ensembles_are_refused_by_train(tmp_path):
    result = CliRunner().invoke(app, ["train", "--task", TASK.name, "--data", str(tmp_path), "--out", str(tmp_path / "run"), "-o", "backbone=seed-mtl+lite0"])
    assert result.exit_code == 2 and "run_face_ensemble" in result.output.replace("\n", "")


def test_an_option_of_another_verb_is_refused(tmp_path):
    result = CliRunner().invoke(app, ["evaluate", "--task", TASK.name, "--data", str(tmp_path), "--out", str(tmp_path / "run"), "-o", "backbone=lite0"])
    assert result.exit_code == 2 and "takes no option 'backbone' for evaluate" in " ".join(result.output.split())


def test_face_export_takes_no_int8(tmp_path):
    write_config(Job(TASK.name, "train", tmp_path, tmp_path, {}))
    result = CliRunner().invoke(app, ["export", "--run", str(tmp_path), "--out", str(tmp_path / "bundle"), "-o", "int8=true"])
    assert result.exit_code == 2 and "int8" in result.output and not (tmp_path / "bundle").exists()


def test_predict_writes_the_contract_columns_and_refuses_a_photo_without_a_face(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "astronaut_face.jpg").write_bytes((EXAMPLES / "astronaut_face.jpg").read_bytes())
    Image.fromarray(np.zeros((480, 640, 3), np.uint8)).save(photos / "group.jpg")
    out = tmp_path / "faces.csv"
    result = CliRunner().invoke(app, ["predict", "--task", TASK.name, "--data", str(photos), "--out", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    rows = pd.read_csv(out, keep_default_na=False).set_index("image_id")
    assert list(pd.read_csv(out).columns) == [*CONTRACT, "predicted_age", "age_low", "age_high", "predicted_gender", "probability_female"]
    assert rows.loc["astronaut_face.jpg", "status"] == "ok" and rows.loc["astronaut_face.jpg", "predicted_gender"] in ("male", "female")
    refused = rows.loc["group.jpg"]
    assert refused["status"] == "refused" and refused["predicted_age"] == "" and refused["message"] == "no face found; use a photo with one face, front-on and well lit"


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["seed-mtl", "seed-mtl:mirror"])
def test_train_then_export_then_predict_through_the_cli(tmp_path, backbone):
    data = utkface_images()
    import torch

    torch.set_num_threads(1)
    runner, run, bundle = CliRunner(), tmp_path / "run", tmp_path / "bundle"
    options = ["-o", f"backbone={backbone}", "-o", "limit=200", "-o", "epochs=1", "-o", f"cache_dir={tmp_path / 'cache'}"]
    trained = runner.invoke(app, ["train", "--task", TASK.name, "--data", str(data), "--out", str(run), *options])
    assert trained.exit_code == 0, trained.output + repr(trained.exception)
    assert missing_run_files(run) == [] and (run / "model.onnx").is_file()
    report = json.loads((run / "report.json").read_text())
    assert report["n_test"] > 0 and "gender accuracy" in trained.output and report["model"]["backbone"] == backbone
    assert (run / "member" / "model.pt").is_file() == backbone.endswith(":mirror")
    assert json.loads((run / "model.json").read_text()) == {"backbone": backbone}  # the architecture; model.pt holds only weights
    exported = runner.invoke(app, ["export", "--run", str(run), "--out", str(bundle)])
    assert exported.exit_code == 0, exported.output + repr(exported.exception)
    assert (bundle / "MODEL_CARD.md").read_text().startswith("---\nlicense: other")
    manifest = json.loads((bundle / "bundle.json").read_text())
    assert manifest["metrics"]["n"] == report["n_test"] and manifest["model"]["backbone"] == backbone
    predicted = runner.invoke(app, ["predict", "--model", str(bundle), "--data", str(EXAMPLES), "--out", str(tmp_path / "faces.csv")])
    assert predicted.exit_code == 0, predicted.output
    rows = pd.read_csv(tmp_path / "faces.csv").set_index("image_id")
    assert rows.loc["astronaut_face.jpg", "status"] == "ok" and rows.loc["astronaut_face.jpg", "predicted_gender"] in ("male", "female")
