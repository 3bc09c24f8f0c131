"""Scoring archives (issue 21): the sequential, the batched in-process and the Ray paths give the same rows
on a small real folder per task; Parquet output streams as shards and resumes; a Parquet listing is read."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from vitalens.data import load_dataset
from vitalens.evaluation.sites import site_photos
from vitalens.predict import PredictionWriter, iter_predictions
from vitalens.runtime import load_predictor
from vitalens.tasks import all_tasks, get_task

REPO = Path(__file__).resolve().parents[1]
PHOTOS_PER_TASK = 6


def _folder(task_name: str, tmp_path: Path) -> Path:
    """Held-out photos of the task's own body site, and one of another site (a refusal), as links."""
    photos = site_photos(get_task(task_name).body_site, "test", PHOTOS_PER_TASK)
    if not photos:
        pytest.skip(f"no {get_task(task_name).body_site} photos: ../shared/data is absent")
    other = REPO / "examples" / ("faces/astronaut.jpg" if task_name != "face-age-gender" else "nails/yakimov2024_65.png")
    folder = tmp_path / task_name
    folder.mkdir()
    for k, photo in enumerate([*photos, other]):
        (folder / f"{k:02d}{photo.suffix}").symlink_to(photo.resolve())
    (folder / "broken.png").write_bytes(b"not a png")  # an unreadable row, in every path
    return folder


def _close(want, have) -> bool:
    """Equal, up to float noise (batches of different sizes may sum in another order) at any depth."""
    if isinstance(want, float) and isinstance(have, (int, float)):
        return (math.isnan(want) and math.isnan(have)) or abs(want - have) <= 1e-3
    if isinstance(want, dict) and isinstance(have, dict):
        return set(want) == set(have) and all(_close(want[k], have[k]) for k in want)
    if isinstance(want, list) and isinstance(have, list):
        return len(want) == len(have) and all(_close(a, b) for a, b in zip(want, have))
    return want == have


def _same_rows(expected: list[dict], got: list[dict]) -> None:
    assert [row["image_id"] for row in got] == [row["image_id"] for row in expected]
    for want, have in zip(expected, got):
        assert _close(want, have), (want, have)


def _rows(predictions) -> list[dict]:
    return [p.to_json() | p.row(()) for p in predictions]


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is the `scale` extra (pip install vitalens[scale])")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.mark.parametrize("task_name", all_tasks())
def test_sequential_batched_and_ray_paths_give_the_same_rows(task_name, tmp_path, local_ray):
    from vitalens.scale import ray_predictions

    folder = _folder(task_name, tmp_path)
    dataset = load_dataset(folder, get_task(task_name))
    predictor = load_predictor(None, task_name)
    sequential = _rows(iter_predictions(dataset, predictor))
    assert len(sequential) == PHOTOS_PER_TASK + 2 and {"ok", "unreadable"} <= {row["status"] for row in sequential}
    _same_rows(sequential, _rows(iter_predictions(dataset, predictor, batch_size=4, threads=2)))
    _same_rows(sequential, _rows(ray_predictions(dataset, predictor.bundle.path, {}, {}, workers=2, batch_size=3)))


def test_parquet_shards_stream_and_a_killed_run_resumes_to_one_row_per_photo(tmp_path):
    pytest.importorskip("pyarrow", reason="Parquet output needs pyarrow (the `scale` extra)")
    import pyarrow.parquet as pq

    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(5):
        shutil.copy(REPO / "examples" / "nails" / "yakimov2024_65.png", folder / f"p{k}.png")
    predictor = load_predictor(None, "hb-nails")
    out = tmp_path / "predictions.parquet"
    first = PredictionWriter(out, predictor.columns, "parquet")
    for prediction in list(iter_predictions(load_dataset(folder), predictor))[:3]:
        first.write(prediction)
    first.abort()  # killed after three photos: their rows are a complete shard under .partial
    partial = out.with_name(out.name + ".partial")
    (partial / "part-00001.parquet").write_bytes(b"PAR1 torn")  # and a shard torn mid-write
    resumed = PredictionWriter(out, predictor.columns, "parquet")
    assert sorted(resumed.done_ids) == ["p0.png", "p1.png", "p2.png"]
    for prediction in iter_predictions(load_dataset(folder), predictor, resumed.done_ids):
        resumed.write(prediction)
    resumed.close()
    rows = pq.read_table(out).to_pylist()
    assert sorted(row["image_id"] for row in rows) == [f"p{k}.png" for k in range(5)] and not partial.exists()
    assert list(rows[0])[:4] == ["image_id", "status", "reasons", "message"]


def test_a_parquet_listing_is_read_like_a_manifest_csv(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="a Parquet listing needs pyarrow (the `scale` extra)")
    import pyarrow.parquet as pq

    photo = REPO / "examples" / "nails" / "yakimov2024_65.png"
    pq.write_table(pa.table({"image": [str(photo), "missing.png"], "group": ["a", "b"], "site": ["x", "y"]}), tmp_path / "listing.parquet")
    dataset = load_dataset(tmp_path / "listing.parquet")
    assert [s.image_path for s in dataset.samples] == [photo.resolve()] and dataset.samples[0].attributes == {"site": "x"}
    assert len(dataset.problems) == 1 and "missing" in dataset.problems[0].reason


def test_the_nail_quality_gate_runs_once_per_raw_photo_and_still_guards_direct_calls(monkeypatch):
    """Profiling found the gate (about 30 ms) paid twice per photo: by the spine's pre_screen and again by
    the predictor. The predictor now reuses the verdict on the very same array, and measures its own otherwise."""
    from vitalens.imaging import decode_image
    from vitalens.runtime import predict_one
    from vitalens.tasks.hb_nails import runtime as nails_runtime

    calls, real = [], nails_runtime.assess_photo
    monkeypatch.setattr(nails_runtime, "assess_photo", lambda rgb: calls.append(1) or real(rgb))
    predictor = load_predictor(None, "hb-nails")
    rgb = decode_image(REPO / "examples" / "nails" / "yakimov2024_65.png").rgb
    screened = predict_one(predictor, rgb, "raw.png")
    assert len(calls) == 1
    direct = predictor.predict_image(rgb.copy(), "raw.png")  # another array: measured again
    assert len(calls) == 2 and direct.row(predictor.columns) == screened.row(predictor.columns)


def test_nested_folds_run_as_ray_tasks_give_the_local_report(synthetic_nails, tmp_path, local_ray):
    from vitalens.runs import Job, check_run_folder, write_config

    task = get_task("hb-nails")
    reports = {}
    for engine in ("local", "ray"):
        job = Job(task.name, "evaluate", synthetic_nails, tmp_path / engine, task.parse_options("evaluate", {"n_boot": "20"}), show_progress=False, engine=engine)
        write_config(job)
        reports[engine] = task.verb("evaluate")(job)
        check_run_folder(job.out)
        assert job.mapped == (len(reports[engine]["candidates"]) if engine == "ray" else 0)
    assert reports["ray"]["candidates"] == reports["local"]["candidates"]  # every fold's inner scores and choice
    assert (tmp_path / "ray" / "predictions.csv").read_text() == (tmp_path / "local" / "predictions.csv").read_text()


def test_conjunctiva_nested_folds_run_as_ray_tasks_give_the_local_report(tmp_path, local_ray):
    from test_hb_conjunctiva import synthetic_layout

    from vitalens.runs import Job, write_config

    task, data = get_task("hb-conjunctiva"), synthetic_layout(tmp_path / "cp")
    reports = {}
    for engine in ("local", "ray"):
        job = Job(task.name, "evaluate", data, tmp_path / engine, task.parse_options("evaluate", {}), show_progress=False, engine=engine)
        write_config(job)
        reports[engine] = task.verb("evaluate")(job)
        assert job.mapped == reports[engine]["data"]["groups"] > 2  # one piece per held-out hospital, on either engine
    assert reports["ray"]["candidates"] == reports["local"]["candidates"]
    assert (tmp_path / "ray" / "predictions.csv").read_text() == (tmp_path / "local" / "predictions.csv").read_text()
