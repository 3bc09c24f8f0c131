"""The command line's contract, the same for every task: verbs, options, output columns, bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from vitalens import __version__
from vitalens.cli import app
from vitalens.results import CONTRACT_COLUMNS
from vitalens.runtime import load_predictor
from vitalens.tasks import all_tasks

REPO = Path(__file__).resolve().parents[1]
NAIL_PHOTO = REPO / "examples" / "nails" / "yakimov2024_65.png"
runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_python_dash_m_and_version():
    result = subprocess.run([sys.executable, "-m", "vitalens", "--help"], capture_output=True, text=True, check=True)
    assert "predict" in result.stdout and "evaluate" in result.stdout
    assert _invoke("--version").stdout.strip() == f"vitalens {__version__}"


def test_an_unknown_task_names_the_known_ones():
    result = _invoke("predict", "--task", "hb-nail", "--data", str(NAIL_PHOTO))
    assert result.exit_code == 2
    assert "unknown task 'hb-nail'; known: " in result.stdout and "hb-nails" in result.stdout


def test_an_option_a_task_does_not_take_is_an_error(tmp_path):
    result = _invoke("evaluate", "--task", "face-age-gender", "--data", str(tmp_path), "-o", "head=catboost")
    assert result.exit_code == 2 and "takes no option 'head' for evaluate" in result.stdout


def test_user_text_is_not_eaten_as_markup(tmp_path):
    missing = tmp_path / "[bold]photos[/bold]"
    result = _invoke("evaluate", "--task", "hb-nails", "--data", str(missing))
    assert result.exit_code == 2 and "[bold]photos[/bold]" in result.stdout


def _hostile_folder(folder: Path) -> dict[str, str]:
    """Good photos beside every kind of bad input; returns file name -> the status it must get."""
    folder.mkdir()
    expected = {}
    for name in ("a.png", "b.jpg"):
        Image.open(NAIL_PHOTO).convert("RGB").save(folder / name)
        expected[name] = "ok|refused"
    (folder / "a.jpg").write_bytes((folder / "b.jpg").read_bytes())  # same stem as a.png: two ids
    expected["a.jpg"] = "ok|refused"
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "cut.jpg").write_bytes((folder / "b.jpg").read_bytes()[:2000])
    (folder / "document.jpg").write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\n")
    gif = io.BytesIO()
    Image.new("RGB", (32, 32)).save(gif, "GIF")
    (folder / "animation.jpg").write_bytes(gif.getvalue())
    (folder / "notes.txt").write_text("not a photo")
    (folder / "sub").mkdir()
    (folder / "gone.jpg").symlink_to(folder / "nowhere.jpg")
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(folder / "dot.png")
    expected["dot.png"] = "refused"
    for name in ("empty.jpg", "cut.jpg", "document.jpg", "animation.jpg", "notes.txt", "sub", "gone.jpg"):
        expected[name] = "unreadable"
    return expected


@pytest.mark.parametrize("task", list(all_tasks()))
def test_a_folder_of_hostile_files_and_good_photos_is_scored_whole(tmp_path, task):
    """Every photo gets a row (exit 0), every bad file is a counted `unreadable` row with its reason."""
    expected = _hostile_folder(tmp_path / "photos")
    out = tmp_path / "predictions.csv"
    result = _invoke("predict", "--task", task, "--data", str(tmp_path / "photos"), "--out", str(out))
    assert result.exit_code == 0, result.stdout
    with out.open() as handle:
        reader = csv.DictReader(handle)
        rows = {row["image_id"]: row for row in reader}
        assert tuple(reader.fieldnames[:4]) == CONTRACT_COLUMNS
        assert tuple(reader.fieldnames[4:]) == load_predictor(task=task).columns
    assert set(rows) == set(expected)
    for name, status in expected.items():
        assert rows[name]["status"] in status.split("|"), (name, rows[name])
        if rows[name]["status"] != "ok":
            assert rows[name]["message"], name
    assert not out.with_name(out.name + ".partial").exists()
    done = json.loads(out.with_name(out.name + ".done.json").read_text())
    assert done["rows"] == len(expected) and done["by_status"]["unreadable"] == 7 and done["task"] == task
    assert "unreadable" in result.stdout


def test_predict_json_and_jsonl_carry_the_same_contract(tmp_path):
    for fmt in ("json", "jsonl"):
        out = tmp_path / f"p.{fmt}"
        assert _invoke("predict", "--data", str(NAIL_PHOTO), "--out", str(out), "--format", fmt).exit_code == 0
        text = out.read_text()
        records = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
        (record,) = records
        assert record["image_id"] == NAIL_PHOTO.name and record["status"] in ("ok", "refused")
        assert isinstance(record["reasons"], list) and "message" in record


def test_over_fifty_rows_prints_a_summary_not_a_table(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(55):
        Image.new("RGB", (40, 40), (i, i, i)).save(folder / f"grey_{i:02d}.png")
    result = _invoke("predict", "--task", "face-age-gender", "--data", str(folder), "--out", str(tmp_path / "p.csv"))
    assert result.exit_code == 0
    assert "55 photos" in result.stdout and "grey_54.png" not in result.stdout


def test_export_of_a_folder_that_is_not_a_run_says_so(tmp_path):
    result = _invoke("export", "--run", str(tmp_path), "--out", str(tmp_path / "bundle"))
    assert result.exit_code == 2 and "config.yaml" in result.stdout


@pytest.mark.parametrize("shape", [(1, 1), (1, 20000), (20000, 1), (2, 2), (17, 17)])
@pytest.mark.parametrize("task", list(all_tasks()))
def test_every_predictor_refuses_tiny_and_extreme_images_without_an_exception(task, shape):
    """The region finders themselves (not only the spine's size guard) answer any shape with a result."""
    predictor = load_predictor(task=task)
    rgb = np.full((*shape, 3), 140, np.uint8)
    prediction = predictor.predict_image(rgb, "odd.png")
    assert prediction.status in ("ok", "refused")
    if prediction.status == "refused":
        assert prediction.reasons and prediction.message


def test_an_interrupted_run_leaves_no_file_that_looks_complete(tmp_path, monkeypatch):
    from vitalens import predict as predict_module

    out = tmp_path / "predictions.csv"
    out.write_text("image_id,status\nold,ok\n")
    (tmp_path / "predictions.csv.done.json").write_text("{}")

    def interrupted(*_args, **_kwargs):
        yield from ()
        raise KeyboardInterrupt

    monkeypatch.setattr(predict_module, "iter_predictions", interrupted)
    monkeypatch.setattr("vitalens.cli.iter_predictions", interrupted, raising=False)
    result = runner.invoke(app, ["predict", "--data", str(NAIL_PHOTO), "--out", str(out), "--restart"])  # click turns ^C into "Aborted!"
    assert result.exit_code != 0
    assert out.with_name("predictions.csv.partial").exists()
    assert out.read_text() == "image_id,status\nold,ok\n"  # the older file is untouched, and
    assert (tmp_path / "predictions.csv.done.json").read_text() == "{}"  # its record still describes it, not this run


def test_a_killed_run_resumes_to_exactly_one_row_per_photo(tmp_path, monkeypatch):
    from vitalens import predict as predict_module

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(6):
        Image.new("RGB", (64, 48), (30 * i, 80, 120)).save(folder / f"p{i}.png")
    out = tmp_path / "predictions.csv"
    real, calls = predict_module.predict_many, []

    def dies_after_three(predictor, items, **population):
        if len(calls) == 3:
            raise KeyboardInterrupt  # as a kill would, between two rows
        calls.append(items[0][1])
        return real(predictor, items, **population)

    monkeypatch.setattr(predict_module, "predict_many", dies_after_three)
    assert runner.invoke(app, ["predict", "--data", str(folder), "--out", str(out), "--batch-size", "1"]).exit_code != 0
    partial = out.with_name("predictions.csv.partial")
    with partial.open("a") as handle:
        handle.write("p5.png,ok,,,0.1")  # and a row torn in the middle, with no newline
    monkeypatch.setattr(predict_module, "predict_many", real)
    result = _invoke("predict", "--data", str(folder), "--out", str(out))
    assert result.exit_code == 0 and "3 photos already scored" in result.stdout
    with out.open() as handle:
        ids = [row["image_id"] for row in csv.DictReader(handle)]
    assert sorted(ids) == [f"p{i}.png" for i in range(6)] and not partial.exists()
    assert json.loads(out.with_name("predictions.csv.done.json").read_text())["rows"] == 6
    again = _invoke("predict", "--data", str(folder), "--out", str(out))  # nothing left to score: the file stays whole
    assert "6 photos already scored" in again.stdout and len(out.read_text().splitlines()) == 7


def test_a_json_array_is_not_resumed_and_other_columns_need_restart(tmp_path):
    out = tmp_path / "p.json"
    assert _invoke("predict", "--data", str(NAIL_PHOTO), "--out", str(out), "--format", "json").exit_code == 0
    result = _invoke("predict", "--data", str(NAIL_PHOTO), "--out", str(out), "--format", "json")
    assert result.exit_code == 2 and "cannot be resumed" in result.stdout
    csv_out = tmp_path / "p.csv"
    assert _invoke("predict", "--data", str(NAIL_PHOTO), "--out", str(csv_out)).exit_code == 0
    other = _invoke("predict", "--task", "skin-condition", "--data", str(NAIL_PHOTO), "--out", str(csv_out))
    assert other.exit_code == 2 and "--restart" in other.stdout
