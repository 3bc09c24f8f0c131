"""A run folder or bundle someone hands you never runs their code (issue 17, finding 8).

Each planted file is a pickle that creates a marker file when unpickled. `vitalens export --run`,
`vitalens evaluate -o model=` and `vitalens predict --model` must refuse it in one line (exit 2) that
names the file and says what to do, and the marker must never appear.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from vitalens.bundle import BUNDLE_FILE, file_sha256, shipped_bundle_path
from vitalens.cli import app
from vitalens.runs import Job, write_config
from vitalens.tasks import get_task

HB_TASKS = ("hb-nails", "hb-lips")
TASKS = (*HB_TASKS, "face-age-gender")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "nails"


class CreatesMarker:
    """Unpickling this opens (creates) `marker`: the code a malicious model file would run."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant(path: Path, marker: Path, torch_format: bool = False) -> Path:
    """A pickle at `path`: plain pickle bytes, or torch.save's zip format (what a model.pt looks like)."""
    if torch_format:
        torch.save({"state_dict": CreatesMarker(marker)}, path)
    else:
        path.write_bytes(pickle.dumps({"model": CreatesMarker(marker)}))
    assert not marker.exists()
    return path


def run_folder(tmp_path: Path, task_name: str) -> Path:
    """A run folder with a valid config.yaml (as the spine writes it) and a report, but no model yet."""
    task = get_task(task_name)
    job = Job(task.name, "train", tmp_path / "data", tmp_path / "run", task.parse_options("train", {}))
    write_config(job)
    (job.out / "report.json").write_text("{}")
    return job.out


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def assert_refused(result, named: str, marker: Path) -> None:
    assert result.exit_code == 2, result.output
    assert named in result.output and "error:" in result.output, result.output
    assert not marker.exists(), "a planted pickle was unpickled"


def test_the_planted_pickle_does_create_the_marker_when_unpickled(tmp_path):
    """The trap works: this is what vitalens must never do."""
    marker = tmp_path / "marker"
    pickle.loads(plant(tmp_path / "model.joblib", marker).read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("task_name", TASKS)
@pytest.mark.parametrize("name", ["model.joblib", "model.npz", "model.pkl"])
def test_export_refuses_a_pickle_it_does_not_read(tmp_path, task_name, name):
    run, marker = run_folder(tmp_path, task_name), tmp_path / "marker"
    plant(run / name, marker)
    result = invoke("export", "--run", str(run), "--out", str(tmp_path / "bundle"))
    assert_refused(result, name, marker)
    assert "re-train with this vitalens" in result.output and not (tmp_path / "bundle").exists()


@pytest.mark.parametrize("task_name", HB_TASKS)
@pytest.mark.parametrize("torch_format", [False, True])
def test_hb_export_refuses_a_pickle_in_place_of_model_json(tmp_path, task_name, torch_format):
    run, marker = run_folder(tmp_path, task_name), tmp_path / "marker"
    plant(run / "model.json", marker, torch_format)
    result = invoke("export", "--run", str(run), "--out", str(tmp_path / "bundle"))
    assert_refused(result, "model.json", marker)
    assert "not a model file written by this vitalens" in result.output


@pytest.mark.parametrize("torch_format", [False, True])
def test_face_export_refuses_a_model_pt_that_is_not_a_weights_only_state_dict(tmp_path, torch_format):
    run, marker = run_folder(tmp_path, "face-age-gender"), tmp_path / "marker"
    plant(run / "model.pt", marker, torch_format)
    (run / "model.json").write_text('{"backbone": "seed-mtl"}')
    result = invoke("export", "--run", str(run), "--out", str(tmp_path / "bundle"))
    assert_refused(result, "model.pt", marker)
    assert "not a weights-only state dict" in result.output and "re-train with this vitalens" in result.output


def test_face_export_refuses_the_older_model_pt_layout(tmp_path):
    """An older vitalens saved {"backbone", "state_dict"}: not a state dict, so refused with the fix."""
    from vitalens.tasks.face_age_gender.model import build_face_model

    run = run_folder(tmp_path, "face-age-gender")
    torch.save({"backbone": "seed-mtl", "state_dict": build_face_model("seed-mtl").state_dict()}, run / "model.pt")
    result = invoke("export", "--run", str(run), "--out", str(tmp_path / "bundle"))
    assert result.exit_code == 2 and "model.pt: not a weights-only state dict" in result.output, result.output


def test_face_checkpoint_resume_refuses_a_pickle(tmp_path):
    from vitalens.tasks.face_age_gender.model import build_face_model
    from vitalens.tasks.face_age_gender.trainer import FaceTrainer, recommended_config

    marker = tmp_path / "marker"
    plant(tmp_path / "checkpoint.pt", marker, torch_format=True)
    trainer = FaceTrainer(build_face_model("seed-mtl"), recommended_config("seed-mtl", epochs=1), checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="checkpoint.pt: holds more than weights"):
        trainer._resume()
    assert not marker.exists()


def bundle_variants(tmp_path: Path, task_name: str, marker: Path) -> dict[str, Path]:
    """Bundle folders carrying the pickle: on its own, in place of model.onnx, and in place of model.onnx
    with bundle.json's checksum updated to match it."""
    alone = tmp_path / "alone"
    alone.mkdir()
    plant(alone / "model.joblib", marker)
    swapped, rehashed = tmp_path / "swapped", tmp_path / "rehashed"
    for folder in (swapped, rehashed):
        shutil.copytree(shipped_bundle_path(task_name), folder)
        plant(folder / "model.onnx", marker)
    manifest = (rehashed / BUNDLE_FILE).read_text()
    original = file_sha256(shipped_bundle_path(task_name) / "model.onnx")
    (rehashed / BUNDLE_FILE).write_text(manifest.replace(original, file_sha256(rehashed / "model.onnx")))
    return {"not a vitalens bundle": alone, "checksum mismatch": swapped, "not a model onnxruntime can run": rehashed}


@pytest.mark.parametrize("task_name", TASKS)
def test_predict_refuses_a_bundle_made_of_a_pickle(tmp_path, task_name):
    marker = tmp_path / "marker"
    for message, bundle in bundle_variants(tmp_path, task_name, marker).items():
        result = invoke("predict", "--model", str(bundle), "--data", str(EXAMPLES), "--out", str(tmp_path / "out.csv"))
        assert_refused(result, message, marker)


def test_face_evaluate_refuses_a_bundle_made_of_a_pickle(tmp_path):
    marker = tmp_path / "marker"
    for message, bundle in bundle_variants(tmp_path, "face-age-gender", marker).items():
        result = invoke("evaluate", "--task", "face-age-gender", "--data", str(tmp_path), "-o", f"model={bundle}",
                        "--out", str(tmp_path / f"run-{bundle.name}"))  # fmt: skip
        assert_refused(result, message, marker)


def test_predict_never_reads_other_files_planted_in_a_bundle(tmp_path):
    """A bundle is bundle.json and the ONNX files it lists with their checksums; nothing else is opened."""
    bundle, marker = tmp_path / "bundle", tmp_path / "marker"
    shutil.copytree(shipped_bundle_path("hb-nails"), bundle)
    for name in ("model.joblib", "model.pt", "model.npz", "model.pkl"):
        plant(bundle / name, marker)
    result = invoke("predict", "--model", str(bundle), "--data", str(EXAMPLES), "--out", str(tmp_path / "out.csv"))
    assert result.exit_code == 0, result.output
    assert not marker.exists()


@pytest.mark.parametrize("torch_format", [False, True])
def test_skin_export_refuses_a_model_pt_that_is_not_weights_only(tmp_path, torch_format):
    run, marker = run_folder(tmp_path, "skin-condition"), tmp_path / "marker"
    plant(run / "model.pt", marker, torch_format)
    result = invoke("export", "--run", str(run), "--out", str(tmp_path / "bundle"))
    assert_refused(result, "model.pt", marker)
    assert "weights-only" in result.output
