"""Face age + gender: loader names, model contracts, exports, refusals (the Prediction contract),
metrics, the run folder a report writes, a short real run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import shared_dataset

from vitalens.data.samples import Problem
from vitalens.results import Prediction
from vitalens.tasks.face_age_gender import TASK
from vitalens.tasks.face_age_gender.data import age_band, load_utkface, parse_utkface_name, split_of

EXAMPLE_FACE = Path(__file__).resolve().parents[1] / "examples" / "faces" / "astronaut_face.jpg"


# ---- loader -----------------------------------------------------------------------------------
def test_well_formed_name_gives_labels():
    assert parse_utkface_name("26_1_2_20170116174525125.jpg.chip.jpg") == {"age": 26.0, "gender": "female", "race": "Asian", "age_band": "18-29"}


def test_space_before_jpg_is_tolerated():
    assert parse_utkface_name("24_0_1_20170116220224657 .jpg.chip.jpg")["race"] == "Black"


@pytest.mark.parametrize("name", ["39_1_20170116174525125.jpg.chip.jpg", "30_2_0_20170116174525125.jpg.chip.jpg", "30_0_7_2017.jpg.chip.jpg", "notes.jpg"])
def test_malformed_names_are_problems(name):
    assert isinstance(parse_utkface_name(name), Problem)


def test_age_bands_follow_the_issue():
    assert [age_band(a) for a in (0, 17, 18, 29, 30, 49, 50, 69, 70, 116)] == ["0-17", "0-17", "18-29", "18-29", "30-49", "30-49", "50-69", "50-69", "70+", "70+"]


def test_loader_counts_bad_names_and_keeps_one_group_per_image(tmp_path):
    for name in ("26_1_2_20170116174525125.jpg.chip.jpg", "24_0_1_20170116220224657 .jpg.chip.jpg", "61_1_20170109142408075.jpg.chip.jpg"):
        Image.new("RGB", (8, 8)).save(tmp_path / name, format="JPEG")
    dataset = load_utkface(tmp_path)
    assert len(dataset) == 2 and len(dataset.problems) == 1 and "61_1_20170109142408075" in dataset.problems[0].source
    assert dataset.groups() == [s.image_id for s in dataset.samples]
    assert dataset.samples[0].targets == {"age": 24.0, "gender": "male"}


def test_split_is_fixed_by_name_and_near_the_planned_fractions():
    names = [f"{i % 90}_{i % 2}_{i % 5}_2017{i:09d}.jpg.chip.jpg" for i in range(4000)]
    splits = pd.Series([split_of(n) for n in names])
    assert [split_of(n) for n in names] == splits.tolist()
    assert abs((splits == "test").mean() - 0.15) < 0.03 and abs((splits == "validation").mean() - 0.15) < 0.03


# ---- models and exports -----------------------------------------------------------------------
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def seed_model():
    from vitalens.tasks.face_age_gender.model import build_face_model

    torch.manual_seed(0)
    return build_face_model("seed-mtl").eval()


def test_seed_architecture_matches_the_published_size(seed_model):
    from vitalens.backbones import count_parameters

    assert 1.0e6 < count_parameters(seed_model) < 1.4e6


def test_compat_onnx_has_the_seed_contract(seed_model, tmp_path):
    import onnxruntime as ort
    from vitalens.tasks.face_age_gender.export import export_face_onnx, onnx_torch_gap

    path = export_face_onnx(seed_model, tmp_path / "compat.onnx", compat=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"] and session.get_inputs()[0].shape[1:] == [3, 112, 112]
    assert [o.name for o in session.get_outputs()] == ["output"]
    (output,) = session.run(None, {"input": np.random.default_rng(0).random((5, 3, 112, 112), dtype=np.float32)})
    assert output.shape == (5, 3)
    assert onnx_torch_gap(seed_model, path, compat=True) < 1e-4


def test_compat_graph_puts_the_female_logit_first(seed_model, tmp_path):
    """The seed's order, [female, male, age / 100], from torch and from the bundle graph's ONNX edit alike."""
    import onnxruntime as ort
    from vitalens.tasks.face_age_gender.export import compat_from_bundle_onnx, export_face_onnx

    images = np.random.default_rng(1).random((4, 3, 112, 112), dtype=np.float32)
    bundle_onnx = export_face_onnx(seed_model, tmp_path / "model.onnx")
    logits, ages = ort.InferenceSession(str(bundle_onnx), providers=["CPUExecutionProvider"]).run(None, {"image": images})
    for path in (export_face_onnx(seed_model, tmp_path / "torch_compat.onnx", compat=True), compat_from_bundle_onnx(bundle_onnx, tmp_path / "edit_compat.onnx")):
        (output,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": images})
        np.testing.assert_allclose(output[:, 0], logits[:, 1], atol=1e-4)  # bundle classes are (male, female)
        np.testing.assert_allclose(output[:, 1], logits[:, 0], atol=1e-4)
        np.testing.assert_allclose(output[:, 2] * 100, ages, atol=1e-3)


@pytest.mark.parametrize("backbone", ["seed-mtl", "lite0", "lite0-ft", "seed-mtl+lite0", "lite0-ft:mirror"])
def test_bundle_onnx_matches_torch(backbone, tmp_path):
    from vitalens.tasks.face_age_gender.model import build_face_model
    from vitalens.tasks.face_age_gender.export import export_face_onnx, onnx_torch_gap

    model = build_face_model(backbone, pretrained=False).eval()
    assert onnx_torch_gap(model, export_face_onnx(model, tmp_path / "model.onnx")) < 1e-3


def test_distribution_head_predicts_the_expected_age():
    from vitalens.tasks.face_age_gender.model import AGE_BINS, AGE_SCALE, build_face_model

    model = build_face_model("lite0-ft", pretrained=False).eval()
    with torch.no_grad():
        outputs = model.outputs(model.stem(torch.rand(3, 3, 112, 112)))
    assert outputs.age_logits.shape == (3, AGE_BINS)
    expected = torch.softmax(outputs.age_logits, dim=1) @ torch.arange(AGE_BINS, dtype=torch.float32)
    assert torch.allclose(outputs.age_scaled * AGE_SCALE, expected)


def test_distribution_loss_prefers_mass_at_the_true_age():
    from vitalens.tasks.face_age_gender.model import FaceOutputs
    from vitalens.tasks.face_age_gender.trainer import FaceTrainingConfig, age_loss

    def peaked_at(year: int) -> FaceOutputs:
        logits = torch.full((1, 121), -10.0)
        logits[0, year] = 10.0
        return FaceOutputs(torch.zeros(1, 2), torch.tensor([year / 100.0]), logits)

    true_age = torch.tensor([40.0])
    sigma = FaceTrainingConfig().age_sigma
    assert age_loss(peaked_at(40), true_age, sigma) < age_loss(peaked_at(43), true_age, sigma) < age_loss(peaked_at(60), true_age, sigma)


def test_augmentation_keeps_shape_varies_images_and_is_reproducible():
    from vitalens.tasks.face_age_gender.trainer import augment_pixels

    images = torch.rand(4, 3, 112, 112)
    first = augment_pixels(images, torch.Generator().manual_seed(0))
    again = augment_pixels(images, torch.Generator().manual_seed(0))
    assert first.shape == images.shape and torch.equal(first, again)
    assert not torch.allclose(first, images, atol=1e-3)


def test_mirror_averaged_model_gives_a_face_and_its_mirror_the_same_answer():
    from vitalens.tasks.face_age_gender.model import build_face_model

    torch.manual_seed(0)
    model = build_face_model("seed-mtl:mirror", pretrained=False).eval()
    images = torch.rand(2, 3, 112, 112)
    with torch.no_grad():
        plain, mirrored = model(images), model(images.flip(3))
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(plain, mirrored))


def test_every_backbone_is_described_for_the_card():
    from vitalens.tasks.face_age_gender.model import BACKBONE_DESCRIPTIONS, BACKBONES, describe_face_model

    assert set(BACKBONE_DESCRIPTIONS) == set(BACKBONES)
    assert "mirrored" in describe_face_model("lite0-ft:mirror") and "ensemble of 2" in describe_face_model("seed-mtl+lite0")


def test_training_checkpoints_and_resumes(tmp_path):
    from vitalens.tasks.face_age_gender.model import build_face_model
    from vitalens.tasks.face_age_gender.trainer import FaceTrainer, FaceTrainingConfig

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (16, 112, 112, 3), dtype=np.uint8)
    ages, genders = rng.uniform(1, 90, 16).astype(np.float32), rng.integers(0, 2, 16)
    args = ([pixels], ages, genders, pixels[:4], ages[:4], genders[:4])
    first = FaceTrainer(build_face_model("seed-mtl"), FaceTrainingConfig(epochs=1, batch_size=8), tmp_path, progress=False).fit(*args)
    resumed = FaceTrainer(build_face_model("seed-mtl"), FaceTrainingConfig(epochs=2, batch_size=8), tmp_path, progress=False).fit(*args)
    assert len(first.history) == 1 and [h["epoch"] for h in resumed.history] == [1, 2]


def synthetic_report(tmp_path: Path, temperature: float = 1.0, age_error: float = 3.0) -> dict:
    """A real `write_face_report` over 40 blank UTKFace-named files with made-up predictions."""
    from vitalens.tasks.face_age_gender.evaluation import truth_frame, write_face_report

    folder = tmp_path / "utkface"
    folder.mkdir()
    for i in range(40):
        Image.new("RGB", (8, 8)).save(folder / f"{5 + 2 * i}_{i % 2}_{i % 5}_2017{i:09d}.jpg.chip.jpg", format="JPEG")
    frame = truth_frame(load_utkface(folder).samples)
    right = np.where(np.arange(len(frame)) % 10 == 0, -1.0, 1.0)  # 90 % of genders right
    signed = np.where(frame["gender"] == "female", 1.0, -1.0) * right
    frame = frame.assign(predicted_age=frame["age"] + age_error, logit_male=-signed, logit_female=signed)
    return write_face_report(frame, temperature, "validation split", folder, tmp_path / "evaluation", n_boot=20)


# ---- metrics against hand-computed values --------------------------------------------------------
def test_expected_calibration_error_by_hand():
    from vitalens.evaluation.metrics import expected_calibration_error

    probabilities = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    # confidences 0.8, 0.6, 0.7 fall in three bins; correct, wrong, correct: (0.2 + 0.6 + 0.3) / 3
    assert expected_calibration_error(probabilities, np.array([0, 1, 1])) == pytest.approx(1.1 / 3)


def test_age_metrics_by_hand():
    from vitalens.tasks.face_age_gender.evaluation import age_metrics

    result = age_metrics([10, 20, 40, 80], [12, 30, 41, 70])  # errors 2, 10, 1, 10
    assert result["mae"] == pytest.approx(5.75) and result["median_ae"] == pytest.approx(6.0)
    assert result["within_5y"] == 0.5 and result["within_10y"] == 1.0
    assert {k: v["mae"] for k, v in result["mae_by_age_band"].items()} == {"0-17": 2, "18-29": 10, "30-49": 1, "70+": 10}


def test_gender_metrics_by_hand():
    from vitalens.tasks.face_age_gender.evaluation import gender_metrics

    result = gender_metrics(["male", "male", "female", "female"], ["male", "female", "female", "female"])
    assert result["accuracy"] == 0.75
    assert result["per_class"]["male"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "n": 2}
    assert result["per_class"]["female"]["precision"] == pytest.approx(2 / 3)


def test_temperature_scaling_undoes_overconfidence():
    from vitalens.evaluation.metrics import fit_temperature

    rng = np.random.default_rng(0)
    calibrated = rng.normal(0, 2, 4000)
    labels = (rng.random(4000) < 1 / (1 + np.exp(-calibrated))).astype(int)
    logits = np.stack([np.zeros(4000), calibrated * 3], axis=1)  # three times too confident
    assert fit_temperature(logits, labels) == pytest.approx(3.0, rel=0.15)


def test_audit_table_flags_highest_age_error_and_lowest_gender_accuracy():
    from vitalens.tasks.face_age_gender.evaluation import audit_table

    frame = pd.DataFrame({
        "race": ["a", "a", "b", "b"], "age": [20.0, 40.0, 20.0, 40.0], "predicted_age": [20.0, 40.0, 30.0, 30.0],
        "gender": ["male", "female", "male", "female"], "predicted_gender": ["female", "female", "male", "female"],
    })  # fmt: skip
    table = audit_table(frame, "race", n_boot=50, mean_age=30.0)
    assert table.loc["a", "age_mae"] == 0 and table.loc["b", "age_mae"] == 10 and table.loc["b", "worst_age_mae"]
    assert table.loc["a", "gender_accuracy"] == 0.5 and table.loc["b", "gender_accuracy"] == 1.0
    assert table.loc["a", "worst_gender_accuracy"] and not table.loc["b", "worst_gender_accuracy"]
    assert table["mean_age_baseline_mae"].tolist() == [10.0, 10.0] and table["n"].tolist() == [2, 2]


# ---- the report a run folder holds -------------------------------------------------------------
def test_report_writes_every_run_file_but_the_spines_config(tmp_path):
    from vitalens.runs import RUN_FILES, missing_run_files

    report = synthetic_report(tmp_path)
    run = tmp_path / "evaluation"
    assert missing_run_files(run) == ["config.yaml"], "config.yaml is the spine's to write, everything else the task's"
    assert set(RUN_FILES) - {"config.yaml"} <= {p.name for p in run.iterdir()}
    assert sorted(report["figures"]) == ["figures/age_predicted_vs_true.png", "figures/confusion_matrix.png", "figures/error_by_group.png"]
    assert all((run / figure).stat().st_size > 0 for figure in report["figures"])
    gender, age = report["headline"]
    assert gender == {"metric": "gender accuracy", "model": pytest.approx(0.9), "baseline": report["baselines"]["majority_gender_accuracy"],
                      "baseline_name": f"always {report['baselines']['majority_gender']}, the training majority"}  # fmt: skip
    assert age["model"] == pytest.approx(3.0) and age["baseline"] == report["baselines"]["mean_age_mae"] and "training mean" in age["baseline_name"]
    assert "held-out" in report["validation"] and json.loads((run / "report.json").read_text())["headline"] == report["headline"]
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics.iloc[0][["attribute", "group", "n"]].tolist() == ["everyone", "all", 40]
    assert set(metrics["attribute"]) == {"everyone", *TASK.audit_attributes}
    assert metrics.groupby("attribute")["n"].sum().eq(40).all(), "each attribute's groups partition the held-out images"
    predictions = pd.read_csv(run / "predictions.csv")
    assert len(predictions) == 40 and {"image_id", "age", "predicted_age", "predicted_gender", "probability_female"} <= set(predictions)
    markdown = (run / "report.md").read_text()
    assert "| gender accuracy | 0.900 |" in markdown and "### By race" in markdown and report["disclaimer"] in markdown


# ---- serving path and a short real run ---------------------------------------------------------
def test_predictor_reads_a_bundle_and_refuses_photos(seed_model, tmp_path, monkeypatch):
    from vitalens.bundle import load_bundle
    from vitalens.imaging import decode_image
    from vitalens.runtime import load_predictor
    from vitalens.tasks.face_age_gender.export import write_face_bundle

    bundle = write_face_bundle(seed_model, "seed-mtl", synthetic_report(tmp_path, temperature=1.5), tmp_path / "bundle")
    manifest = load_bundle(bundle).manifest  # the one writer's checksum is the reader's
    assert manifest["task"] == TASK.name and manifest["temperature"] == 1.5 and manifest["model"]["backbone"] == "seed-mtl"
    assert (bundle / "MODEL_CARD.md").read_text().startswith("---\nlicense: other")
    predictor = load_predictor(bundle)
    assert predictor.columns == ("predicted_age", "age_low", "age_high", "predicted_gender", "probability_female")
    face = decode_image(EXAMPLE_FACE).rgb
    aligned, _ = predictor.locate(face)
    untrained = predictor.predict_crops([aligned])[0]  # the seed fixture is barely trained: its age may be anything
    crop = predictor.predict_image(face, "crop.jpg")
    assert isinstance(crop, Prediction) and crop.image_id == "crop.jpg"
    if 0 <= untrained["predicted_age"] <= 120:
        assert crop.status == "ok" and not crop.reasons and crop.columns == untrained
    else:  # an implausible age is refused, never clipped
        assert crop.status == "refused" and crop.reasons[0].startswith("estimate ") and not crop.columns
    monkeypatch.setattr(predictor, "predict_crops", lambda crops: [{"predicted_age": 31.0, "predicted_gender": "female", "probability_female": 0.8}])
    plausible = predictor.predict_image(face, "crop.jpg")
    assert plausible.status == "ok" and plausible.columns["predicted_age"] == 31.0
    assert set(plausible.columns) == set(predictor.columns) - {"age_low", "age_high"}  # the fixture bundle has no age interval
    photo = predictor.predict_image(np.full((480, 640, 3), (180, 140, 120), np.uint8), "party/photo.jpg")
    assert photo.status == "refused" and photo.image_id == "party/photo.jpg" and not photo.columns
    assert photo.reasons == ["no face found"] and photo.message == "no face found; use a photo with one face, front-on and well lit"
    assert photo.row(predictor.columns)["predicted_age"] == "" and "problem" not in photo.row(predictor.columns)


def test_a_photo_with_two_faces_is_refused_with_a_tip(seed_model, tmp_path, monkeypatch):
    from vitalens.bundle import load_bundle
    from vitalens.regions.faces import Face
    from vitalens.tasks.face_age_gender.export import write_face_bundle
    from vitalens.tasks.face_age_gender.runtime import FacePredictor

    points = np.array([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]], float)
    two = [Face((0, 0, 100, 100), 0.99, points), Face((200, 300, 300, 400), 0.98, points + [300, 200])]
    monkeypatch.setattr("vitalens.tasks.face_age_gender.regions.detect_faces", lambda rgb, sessions, min_face: two)
    bundle = load_bundle(write_face_bundle(seed_model, "seed-mtl", synthetic_report(tmp_path), tmp_path / "bundle"))
    prediction = FacePredictor(bundle).predict_image(np.zeros((480, 640, 3), np.uint8), "two.jpg")
    tip = "crop the photo to the one person to estimate, or ask for the largest face (face=largest)"
    assert prediction.status == "refused" and prediction.reasons == ["2 faces found"]
    assert prediction.message == f"2 faces found; {tip}" and prediction.to_json()["tips"] == [tip]
    largest = FacePredictor(bundle, face="largest").predict_image(np.zeros((480, 640, 3), np.uint8), "two.jpg")
    assert largest.ok or largest.reasons[0].startswith("estimate ")  # read (the barely trained seed may give an implausible age)


@pytest.mark.slow
def test_short_real_training_run(tmp_path):
    images = shared_dataset("utkface/images")
    from vitalens.tasks.face_age_gender.evaluation import evaluate_face_run
    from vitalens.tasks.face_age_gender.training import run_face_training
    from vitalens.tasks.face_age_gender.trainer import FaceTrainingConfig

    torch.set_num_threads(1)
    run = run_face_training(images, "seed-mtl", tmp_path / "run", FaceTrainingConfig(epochs=1), limit=300, cache_dir=None, progress=False)
    test = pd.read_csv(run / "predictions_test.csv")
    assert len(test) > 0 and test["predicted_age"].notna().all()
    report = evaluate_face_run(run, images, n_boot=20)
    assert set(report["audit"]) == {"race", "gender", "age_band"} and (run / "figures" / "confusion_matrix.png").is_file()
    assert report["model"]["backbone"] == "seed-mtl" and [row["metric"] for row in report["headline"]] == ["gender accuracy", "age MAE (years)"]


def test_shipped_bundle_predicts_the_example_face():
    from vitalens.imaging import decode_image
    from vitalens.runtime import load_predictor

    predictor = load_predictor(None, TASK.name)
    prediction = predictor.predict_image(decode_image(EXAMPLE_FACE).rgb, EXAMPLE_FACE.name)
    assert "gender accuracy" in predictor.caveat
    assert prediction.status == "ok" and prediction.image_id == "astronaut_face.jpg" and not prediction.message
    assert 0 < prediction.columns["predicted_age"] < 116 and prediction.columns["predicted_gender"] in ("male", "female")


def test_shipped_bundle_is_read_as_it_is():
    """The shipped model.onnx is the one its bundle.json names (load_bundle checks every stage's sha256)."""
    from vitalens.bundle import file_sha256, load_bundle, shipped_bundle_path

    bundle = load_bundle(shipped_bundle_path(TASK.name))
    assert bundle.stages() == ["model", "detector_pnet", "detector_rnet", "detector_onet", "compat"]
    assert bundle.manifest["model"]["sha256"] == file_sha256(bundle.path / "model.onnx")
    assert bundle.manifest["model"]["sha256"] == "2886650f4885842fa3f979f5e8b7730ab1e30998bb85576e496127091721433c"


def test_ensemble_averages_member_probabilities_and_ages():
    from vitalens.tasks.face_age_gender.model import build_face_model

    torch.manual_seed(0)
    ensemble = build_face_model("seed-mtl+seed-mtl", pretrained=False).eval()
    images = torch.rand(4, 3, 112, 112)
    with torch.no_grad():
        outputs = [m((images - 0.5) / 0.5) for m in ensemble.members]
        log_probabilities, age = ensemble(images)
    expected = torch.stack([torch.softmax(g, 1) for g, _ in outputs]).mean(0)
    assert torch.allclose(log_probabilities.exp(), expected, atol=1e-6)
    assert torch.allclose(age, (outputs[0][1] + outputs[1][1]) / 2, atol=1e-6)


def test_task_declares_images_as_validation_groups():
    from vitalens.tasks import get_task

    task = get_task("face-age-gender")
    assert task is TASK and task.group_by == "image" and "no person id" in task.description
    assert task.audit_attributes == ("race", "gender", "age_band")


def test_options_are_parsed_per_verb_and_unknown_ones_refused():
    from vitalens.tasks import TaskError

    assert TASK.parse_options("evaluate", {"limit": "40", "card": "false"}) == {"limit": 40, "model": None, "card": False}
    assert TASK.parse_options("train", {})["backbone"] == "lite0-ft:mirror"
    with pytest.raises(TaskError, match="takes no option 'backbone' for evaluate"):
        TASK.parse_options("evaluate", {"backbone": "lite0"})
    with pytest.raises(ValueError, match="not of type int"):
        TASK.parse_options("train", {"epochs": "many"})


def test_lifecycle_refuses_a_carded_smoke_run_and_an_ensemble_before_any_work(tmp_path):
    from vitalens.runs import Job
    from vitalens.tasks import TaskError
    from vitalens.tasks.face_age_gender import lifecycle

    smoke = Job(TASK.name, "evaluate", tmp_path, tmp_path / "run", TASK.parse_options("evaluate", {"limit": "5", "card": "true"}))
    with pytest.raises(TaskError, match="smoke run"):
        lifecycle.evaluate(smoke)
    ensemble = Job(TASK.name, "train", tmp_path, tmp_path / "run", TASK.parse_options("train", {"backbone": "seed-mtl+lite0"}))
    with pytest.raises(TaskError, match="run_face_ensemble"):
        lifecycle.train(ensemble)
    assert not (tmp_path / "run").exists()


def test_export_refuses_a_folder_without_a_trained_model(tmp_path):
    from vitalens.runs import Job
    from vitalens.tasks.face_age_gender import lifecycle

    (tmp_path / "report.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="model.pt: missing"):
        lifecycle.export(Job(TASK.name, "export", tmp_path, tmp_path / "bundle"))
    assert not (tmp_path / "bundle").exists()


# ---- model card ------------------------------------------------------------------------------------
def front_matter(card: str) -> dict:
    import yaml

    assert card.startswith("---\n"), "a Hugging Face card starts with YAML front matter"
    return yaml.safe_load(card.split("---\n")[1])


def test_shipped_face_bundle_has_a_card_matching_its_manifest():
    from vitalens import DISCLAIMER
    from vitalens.bundle import load_bundle, shipped_bundle_path

    bundle = load_bundle(shipped_bundle_path("face-age-gender"))
    card = bundle.card()
    front = front_matter(card)
    assert front["license"] == "other" and "non-commercial" in front["license_name"] and front["datasets"] == ["utkface"]
    gender_result, age_result = front["model-index"][0]["results"]
    assert gender_result["metrics"][0] == {"type": "accuracy", "value": round(bundle.manifest["metrics"]["gender_accuracy"], 4), "name": "gender accuracy"}
    assert age_result["metrics"][0]["value"] == round(bundle.manifest["metrics"]["age_mae_years"], 3)
    assert card.count(DISCLAIMER) == 2 and "### By race" in card
    gender_met = bundle.manifest["metrics"]["gender_accuracy"] >= 0.93
    (gender_line,) = [line for line in card.splitlines() if line.startswith("- Issue #6 target for gender accuracy")]
    assert (": met —" if gender_met else ": **not met** —") in gender_line


@pytest.mark.parametrize("age_error, verdict", [(3.0, ": met —"), (9.0, ": **not met** —")])
def test_card_says_whether_the_age_target_is_met(tmp_path, age_error, verdict):
    from vitalens.tasks.face_age_gender.card import render_face_model_card

    manifest = {"task": "face-age-gender", "disclaimer": "research only", "model": {"file": "model.onnx", "sha256": "0" * 64, "backbone": "seed-mtl", "parameters": 1}}
    report = synthetic_report(tmp_path, age_error=age_error)
    card = render_face_model_card(manifest, report)
    (age_line,) = [line for line in card.splitlines() if line.startswith("- Issue #6 target for age MAE")]
    assert verdict in age_line and f"measured {age_error:.2f} years" in age_line
    ci = report["overall_ci"]  # every prediction is off by exactly age_error, so every resample's MAE is too
    assert ci["age_mae_low"] == pytest.approx(age_error) == ci["age_mae_high"] and ci["gender_accuracy_low"] <= 0.9 <= ci["gender_accuracy_high"]
    assert f"age MAE {age_error:.2f}–{age_error:.2f} years" in card
    assert "- Issue #6 target for gender accuracy (≥ 93%): **not met** — measured 90.0%" in card
