"""Nested, session-grouped selection (hb-nails `protocol=nested`): the candidate is chosen inside each outer
training fold, so no held-out session takes part in choosing the model that estimates it."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from vitalens.runs import Job, check_run_folder, write_config
from vitalens.tasks import TaskError, get_task
from vitalens.tasks.hb_nails.export import MODEL_FILE
from vitalens.tasks.hb_nails.nested import CANDIDATES, OPTIMISTIC_LABEL, candidate_name

TASK = get_task("hb-nails")
NAMES = [candidate_name(c) for c in CANDIDATES]


def run_verb(verb: str, data: Path, out: Path, **options) -> dict:
    job = Job(TASK.name, verb, data, out, TASK.parse_options(verb, options), show_progress=False)
    write_config(job)
    report = TASK.verb(verb)(job)
    check_run_folder(out)
    return report


def check_nested_run(report: dict, out: Path) -> None:
    """What every nested run must show: leak-free outer folds, every candidate logged, the nested headline."""
    with open(out / "predictions.csv") as handle:
        predictions = list(csv.DictReader(handle))
    with open(out / "metrics.csv") as handle:
        folds = list(csv.DictReader(handle))
    sessions_of_fold = {}
    for row in predictions:
        sessions_of_fold.setdefault(row["fold"], set()).add(row["group"])
    for fold, held_out in sessions_of_fold.items():  # an outer fold trains on every session it does not hold out
        trained_on = {row["group"] for row in predictions if row["fold"] != fold}
        assert not held_out & trained_on
    assert report["protocol"] == "nested" and len(report["candidates"]) == len(folds) == len(sessions_of_fold)
    for entry, fold in zip(report["candidates"], folds):
        assert set(entry["inner_mae"]) == set(NAMES) and entry["chosen"] in NAMES == NAMES
        assert entry["inner_mae"][entry["chosen"]] == min(entry["inner_mae"].values())
        assert fold["chosen"] == entry["chosen"] and 0 <= float(fold["interval_coverage"]) <= 1
        assert set(entry["test_groups"].split(";")) == sessions_of_fold[fold["fold"]]
    mae = np.mean([abs(float(r["hb_pred"]) - float(r["hb_true"])) for r in predictions])
    headline = {row["metric"]: row for row in report["headline"]}
    assert headline["mae"]["model"] == pytest.approx(mae) == pytest.approx(report["model"]["mae"])
    assert headline["mae"]["baseline"] == pytest.approx(report["mean_predictor"]["mae"])
    assert report["optimistic"]["label"] == OPTIMISTIC_LABEL and set(report["optimistic"]["mae_by_candidate"]) == set(NAMES)
    assert report["optimistic"]["mae"] == min(report["optimistic"]["mae_by_candidate"].values())
    assert len(report["conformal"]["by_fold"]) == len(folds) and report["conformal"]["half_width_all"] > 0
    assert "Nested selection" in (out / "report.md").read_text()
    saved = json.loads((out / "report.json").read_text())
    assert saved["headline"] == report["headline"] and saved["candidates"] == report["candidates"]


def test_nested_is_the_default_of_evaluate_and_its_selection_stays_inside_the_training_folds(synthetic_nails, tmp_path):
    report = run_verb("evaluate", synthetic_nails, tmp_path / "nested", n_boot="20")
    check_nested_run(report, tmp_path / "nested")
    assert report["validation"].startswith("leave-one-session-out (6 groups); nested")
    assert not (tmp_path / "nested" / MODEL_FILE).exists()


def test_nested_train_saves_the_candidate_the_inner_cv_chose_on_all_sessions(synthetic_nails, tmp_path):
    report = run_verb("train", synthetic_nails, tmp_path / "train", protocol="nested", n_boot="20")
    check_nested_run(report, tmp_path / "train")
    final = report["final_choice"]
    assert final["chosen"] == min(final["inner_mae"], key=final["inner_mae"].get) and "all sessions" in final["how"]
    saved = json.loads((tmp_path / "train" / MODEL_FILE).read_text())
    assert f"{saved['config']['features']}+{saved['config']['head']}" == final["chosen"] and "protocol" not in saved["config"]
    assert saved["model"]["features"] == saved["config"]["features"]


def test_single_protocol_keeps_one_given_configuration(synthetic_nails, tmp_path):
    report = run_verb("evaluate", synthetic_nails, tmp_path / "single", protocol="single", features="colour", head="ridge", n_boot="20")
    assert report["protocol"] == "single" and report["configuration"] == {"features": "colour", "head": "ridge"}
    assert "candidates" not in report and "nested" not in report["validation"] and report["validation"].startswith("leave-one-session-out")


def test_an_unknown_protocol_is_refused(synthetic_nails, tmp_path):
    with pytest.raises(TaskError, match="protocol"):
        run_verb("evaluate", synthetic_nails, tmp_path / "x", protocol="twice")


@pytest.mark.slow
def test_real_data_nested_evaluation(yakimov_dir, tmp_path):
    """The Yakimov sessions: the nested figure is the headline, the optimistic one only beside it."""
    report = run_verb("evaluate", yakimov_dir, tmp_path / "real", n_boot="100")
    check_nested_run(report, tmp_path / "real")
    assert report["data"]["groups"] == len(report["candidates"])  # leave-one-session-out outside


def test_fixing_features_or_head_under_nested_selection_says_to_pick_the_single_protocol(synthetic_nails, tmp_path):
    with pytest.raises(TaskError, match="nested selection chooses the features and head itself; add -o protocol=single"):
        run_verb("evaluate", synthetic_nails, tmp_path / "x", head="ridge")
