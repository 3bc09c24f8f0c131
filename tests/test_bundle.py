"""hb-nails on a small synthetic dataset: the lifecycle (train/evaluate/export as the spine calls them)
writes every run file, export goes through the one bundle writer, and the bundle's predictor returns
`Prediction`s with the same numbers as the torch graph and the fitted model, no torch at inference."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vitalens.bundle import BUNDLE_FILE, BundleError, load_bundle
from vitalens.colour import srgb_to_lab
from vitalens.data.samples import Sample
from vitalens.imaging import decode_image
from vitalens.results import Prediction
from vitalens.runs import RUN_FILES, Job, check_run_folder, write_config
from vitalens.tasks import TaskError, get_task
from vitalens.heads import linear_parameters
from vitalens.tasks._haemoglobin.config import RunConfig
from vitalens.tasks.hb_nails.export import MODEL_FILE, linear_graph
from vitalens.tasks.hb_nails.lifecycle import prepare
from vitalens.tasks.hb_nails.model import NailHbRegressor
from vitalens.tasks.hb_nails.training import fit_final
from vitalens.tasks.hb_nails.features import srgb_to_lab as torch_srgb_to_lab
from vitalens.tasks.hb_nails.regions import nail_regions, region_inputs
from vitalens.tasks.hb_nails.runtime import NailHbPredictor
from conftest import NAILS, SKINS, write_synthetic_nails

TASK = get_task("hb-nails")


@pytest.fixture(scope="module")
def synthetic_dataset(tmp_path_factory) -> Path:
    return write_synthetic_nails(tmp_path_factory.mktemp("synthetic_nails"), 24, seed=0)


def refit(run_dir: Path) -> tuple[dict, NailHbRegressor]:
    """The run's model.json and the scikit-learn model refitted from its configuration: the same numbers."""
    saved = json.loads((run_dir / MODEL_FILE).read_text())
    config = RunConfig(**saved["config"])
    fitted = fit_final(prepare(config, show_progress=False), config)
    weights, bias = linear_parameters(fitted.head_)
    assert saved["model"] == fitted.get_params() and saved["weights"] == weights.tolist() and saved["bias"] == bias
    return saved, fitted


def run_verb(verb: str, data: Path, out: Path, **options) -> dict:
    """What the spine does for a verb: parse the options, write config.yaml, call the lifecycle, check the folder."""
    job = Job(TASK.name, verb, data, out, TASK.parse_options(verb, options), show_progress=False)
    if verb == "export":
        return TASK.verb(verb)(job)
    write_config(job)
    report = TASK.verb(verb)(job)
    check_run_folder(out)
    return report


@pytest.fixture(scope="module", params=["colour", "colour_red"])
def bundle_dir(request, synthetic_dataset, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("run")
    report = run_verb("train", synthetic_dataset, work / "synthetic", features=request.param, head="ridge", n_boot="50", protocol="single")
    assert report["model"]["mae"] < report["mean_predictor"]["mae"]  # the synthetic signal is learnable
    return run_verb("export", work / "synthetic", work / "bundle")


def test_lab_torch_matches_numpy():
    rgb = np.random.default_rng(2).uniform(0, 1, (50, 3))
    expected = srgb_to_lab(rgb)
    actual = torch_srgb_to_lab(torch.tensor(rgb, dtype=torch.float32)).numpy()
    assert np.allclose(actual, expected, atol=1e-3)
    assert np.allclose(srgb_to_lab(np.ones(3)), [100, 0, 0], atol=1e-2)


def test_train_writes_every_run_file_and_a_headline_beside_the_mean_predictor(bundle_dir):
    run_dir = bundle_dir.parent / "synthetic"
    assert all((run_dir / name).is_file() for name in RUN_FILES) and (run_dir / "figures").is_dir()
    assert (run_dir / MODEL_FILE).is_file()
    report = json.loads((run_dir / "report.json").read_text())
    assert [row["metric"] for row in report["headline"]] == ["mae", "rmse", "r2"]
    for row in report["headline"]:
        assert row["model"] == pytest.approx(report["model"][row["metric"]])
        assert row["baseline"] == pytest.approx(report["mean_predictor"][row["metric"]]) and "mean" in row["baseline_name"]
    assert report["validation"].startswith("leave-one-session-out") and report["task"] == "hb-nails"
    with open(run_dir / "predictions.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 24


def test_evaluate_writes_the_run_files_but_no_model_so_export_refuses_it(synthetic_dataset, tmp_path):
    report = run_verb("evaluate", synthetic_dataset, tmp_path / "cv", scheme="kfold", n_splits="3", head="ridge", n_boot="20", protocol="single")
    assert report["validation"].startswith("grouped 3-fold by session") and report["headline"][0]["metric"] == "mae"
    assert not (tmp_path / "cv" / MODEL_FILE).exists()
    with pytest.raises(FileNotFoundError, match="vitalens train"):
        run_verb("export", tmp_path / "cv", tmp_path / "bundle")


def test_a_catboost_run_says_it_cannot_be_exported_and_export_refuses_it(tmp_path):
    """catboost is not linear, so there is no ONNX graph for it: train records why, export says so in one line."""
    from vitalens.tasks.hb_nails.export import read_saved_model, saved_model

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), rng.normal(12, 2, 30)
    model = NailHbRegressor(head="catboost").fit_features(X, np.arange(30), y)
    saved = saved_model(model, {}, {"half_width_all": 1.0})
    assert "weights" not in saved and "not a scaled linear model" in saved["not_exportable"]
    (tmp_path / MODEL_FILE).write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="catboost head cannot be exported to ONNX.*re-train with head=ridge or head=median"):
        read_saved_model(tmp_path)


def test_options_are_validated():
    with pytest.raises(TaskError, match="no option 'detector' for train"):
        TASK.parse_options("train", {"detector": "x"})
    with pytest.raises(TaskError, match="no option 'head' for export"):
        TASK.parse_options("export", {"head": "ridge"})
    with pytest.raises(ValueError, match="not of type int"):
        TASK.parse_options("evaluate", {"n_splits": "three"})
    assert TASK.parse_options("export", {"int8": "yes"}) == {"detector": None, "int8": True}


def test_bundle_round_trip_and_onnx_torch_parity(bundle_dir, synthetic_dataset):
    bundle = load_bundle(bundle_dir)
    manifest = bundle.manifest
    assert manifest["task"] == "hb-nails" and manifest["uncertainty"]["half_width"] > 0 and "detector" not in manifest
    assert manifest["model"]["file"] == "model.onnx" and len(manifest["model"]["sha256"]) == 64
    assert (bundle_dir / "MODEL_CARD.md").read_text().startswith("---\nlicense:")
    predictor = NailHbPredictor(bundle)
    rgb = decode_image(synthetic_dataset / "p0.png").rgb
    onnx_per_nail, _ = predictor.per_nail(rgb, NAILS, SKINS)

    saved, fitted = refit(bundle_dir.parent / "synthetic")
    regions = nail_regions(rgb, NAILS, SKINS, 32)
    assert regions.red_found
    graph = linear_graph(NailHbRegressor(**saved["model"]), saved["weights"], saved["bias"])
    assert sorted(manifest["inputs"]) == sorted(graph.inputs) == sorted(i.name for i in bundle.session().get_inputs())
    assert ("red_reference" in manifest["region"]) == ("red" in graph.inputs)
    feeds = region_inputs(regions)
    with torch.no_grad():
        torch_per_nail = graph(*(torch.from_numpy(feeds[name]) for name in graph.inputs)).numpy()
    sklearn_per_nail = fitted.predict_features(*fitted.transform([regions]))[1]
    assert np.allclose(onnx_per_nail, torch_per_nail, atol=1e-3)
    assert np.allclose(onnx_per_nail, sklearn_per_nail, atol=1e-3)

    result = predictor.predict_image(rgb, "p0.png", Sample(synthetic_dataset / "p0.png", "p0", "session0", boxes={"nail": NAILS, "skin": SKINS}))
    assert isinstance(result, Prediction) and result.status == "ok" and result.image_id == "p0.png"
    assert set(result.columns) == set(predictor.columns) and not result.reasons and not result.message
    hb = result.columns["predicted_hgb"]
    assert hb == pytest.approx(float(np.median(onnx_per_nail)))
    assert result.columns["interval_low"] < hb < result.columns["interval_high"]
    assert result.columns["per_nail_hgb"] == pytest.approx(list(onnx_per_nail)) and result.columns["n_nails"] == 3
    assert result.columns["regions_from"] == "annotated" and result.columns["who_severity"] == result.details["interpretation"]["statement"]
    assert [n["box"] for n in result.details["nails"]] == [list(b) for b in NAILS]
    assert [n["skin_box"] for n in result.details["nails"]] == [list(b) for b in SKINS]
    assert all(n["score"] is None for n in result.details["nails"])
    row = result.row(predictor.columns)
    assert row["per_nail_hgb"].startswith("[") and row["status"] == "ok"
    assert json.loads(json.dumps(result.to_json()))["nails"][0]["box"] == list(NAILS[0])
    assert predictor.predict(rgb, NAILS, SKINS, "p0.png").columns == result.columns


def test_population_check_and_several_photo_aggregate(bundle_dir, synthetic_dataset):
    predictor = NailHbPredictor(load_bundle(bundle_dir))
    with pytest.raises(ValueError):
        predictor.validate_population({"age_years": -3})
    predictor.validate_population({"sex": "female", "age_years": 30})
    photos = [decode_image(synthetic_dataset / f"p{i}.png").rgb for i in range(3)]
    predictions = [predictor.predict(rgb, NAILS, SKINS, f"p{i}.png", sex="female", age_years=30) for i, rgb in enumerate(photos)]
    predictions.append(predictor.predict(np.full((50, 50, 3), 255, np.uint8), None, None, "blank.png"))
    assert predictor.aggregate(predictions[:1], {}) is None
    summary = predictor.aggregate(predictions, {"sex": "female", "age_years": 30})
    estimates = [p.columns["predicted_hgb"] for p in predictions[:3]]
    assert summary["n_images"] == 4 and summary["n_refused"] == 1 and min(estimates) <= summary["hb"] <= max(estimates)


def test_checksum_mismatch_is_refused(bundle_dir, tmp_path):
    copy = tmp_path / "tampered"
    copy.mkdir()
    for file in bundle_dir.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    (copy / "model.onnx").write_bytes((copy / "model.onnx").read_bytes() + b"\0")
    with pytest.raises(BundleError, match="checksum mismatch"):
        load_bundle(copy)


def test_newer_schema_is_refused(bundle_dir, tmp_path):
    copy = tmp_path / "future"
    copy.mkdir()
    for file in bundle_dir.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    manifest = json.loads((copy / BUNDLE_FILE).read_text())
    manifest["schema_version"] = 99
    (copy / BUNDLE_FILE).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="schema_version 99 is not one this vitalens reads"):
        load_bundle(copy)


def test_refuses_a_photo_without_nails(bundle_dir):
    predictor = NailHbPredictor(load_bundle(bundle_dir))
    result = predictor.predict_image(np.full((50, 50, 3), 255, np.uint8), "blank.png")
    assert result.status == "refused" and result.reasons == ["no_boxes"] and result.details["tips"]
    assert result.message.startswith("no_boxes; ") and "detector" in result.message
    assert not any(result.columns.get(name) for name in ("predicted_hgb", "interval_low", "interval_high"))
    assert result.row(predictor.columns)["predicted_hgb"] == ""


def test_shipped_bundle_predicts_examples_without_importing_torch(tmp_path):
    """The README's first command: the shipped bundle on the example photos, torch never imported."""
    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "predictions.csv"
    script = (
        "import sys\n"
        "from vitalens.cli import app\n"
        f"try:\n    app(['predict', '--task', 'hb-nails', '--data', r'{repo / 'examples' / 'nails'}', '--out', r'{out}'])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported at inference'\n"
        "print('NO_TORCH_OK')\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "NO_TORCH_OK" in completed.stdout, completed.stderr[-2000:]
    assert out.read_text().startswith("image_id,status,reasons,message,predicted_hgb,interval_low,interval_high")
    with open(out) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and {row["image_id"] for row in rows} == {p.name for p in (repo / "examples" / "nails").glob("*.png")}
    for row in rows:
        assert row["status"] == "ok" and row["regions_from"] == "annotated" and 4 < float(row["predicted_hgb"]) < 20


def test_cnn_bundle_round_trip_runs_on_the_same_runtime(synthetic_dataset, tmp_path):
    """A CNN bundle's graph has no skin input; the runtime feeds each graph only what it declares."""
    run_verb("train", synthetic_dataset, tmp_path / "cnn", features="cnn", crop_size="32", head="ridge", n_boot="20", protocol="single")
    bundle = load_bundle(run_verb("export", tmp_path / "cnn", tmp_path / "bundle"))
    rgb = decode_image(synthetic_dataset / "p0.png").rgb
    onnx_per_nail, _ = NailHbPredictor(bundle).per_nail(rgb, NAILS, SKINS)
    _, fitted = refit(tmp_path / "cnn")
    sklearn_per_nail = fitted.predict_features(*fitted.transform([nail_regions(rgb, NAILS, SKINS, 32)]))[1]
    assert np.allclose(onnx_per_nail, sklearn_per_nail, atol=1e-2)
