from pathlib import Path

import pytest
from PIL import Image

from vitalens.data import load_dataset, load_manifest, parse_boxes
from vitalens.tasks import get_task
from vitalens.tasks.hb_nails.data import is_yakimov_layout, load_yakimov


def test_parse_boxes_rejects_degenerate_boxes():
    assert parse_boxes("[[1, 2, 3, 4]]") == [(1, 2, 3, 4)]
    with pytest.raises(ValueError, match="no area"):
        parse_boxes("[[5, 5, 5, 9]]")
    with pytest.raises(ValueError, match="4 numbers"):
        parse_boxes("[[1, 2, 3]]")


def test_manifest_counts_bad_rows_and_missing_images(tmp_path: Path):
    Image.new("RGB", (10, 10)).save(tmp_path / "a.png")
    (tmp_path / "manifest.csv").write_text(
        "image,group,hb,nail_boxes,site\n"
        "a.png,s1,12.5,\"[[1,1,5,5]]\",clinic-A\n"
        "missing.png,s2,11.0,,clinic-B\n"
        "a.png,s3,10.0,\"[[1,1,1,5]]\",clinic-C\n"
        ",s4,9.0,,\n"
    )
    dataset = load_manifest(tmp_path / "manifest.csv", target_names=("hb",))
    assert len(dataset) == 1
    sample = dataset.samples[0]
    assert sample.targets == {"hb": 12.5} and sample.group == "s1"
    assert sample.boxes["nail"] == [(1, 1, 5, 5)] and sample.attributes["site"] == "clinic-A"
    reasons = " ".join(p.reason for p in dataset.problems)
    assert len(dataset.problems) == 3 and "missing" in reasons and "no area" in reasons and "empty" in reasons


def test_manifest_without_required_columns_is_refused(tmp_path: Path):
    (tmp_path / "m.csv").write_text("file,hb\nx.png,1\n")
    with pytest.raises(ValueError, match="needs columns"):
        load_manifest(tmp_path / "m.csv")


def test_image_folder_for_prediction(tmp_path: Path):
    Image.new("RGB", (10, 10)).save(tmp_path / "b.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    dataset = load_dataset(tmp_path, get_task("hb-nails"))
    assert [s.image_path.name for s in dataset.samples] == ["b.jpg"] and not is_yakimov_layout(tmp_path)


def test_yakimov_layout(yakimov_dir):
    dataset = load_yakimov(yakimov_dir)
    assert len(dataset) >= 150 and not dataset.problems
    sample = dataset.samples[0]
    assert 4 < sample.targets["hb"] < 20  # g/L converted to g/dL
    assert len(sample.boxes["nail"]) == 3 and len(sample.boxes["skin"]) == 3
    assert len(set(dataset.groups())) >= 10
    assert is_yakimov_layout(yakimov_dir)
    recognised = load_dataset(yakimov_dir, get_task("hb-nails"))  # the task's own layout, found by its declaration
    assert [s.image_id for s in recognised.samples] == [s.image_id for s in dataset.samples]


def test_cli_reports_a_missing_folder_in_one_line_with_exit_code_2(tmp_path):
    import os
    import subprocess
    import sys

    wide = {**os.environ, "COLUMNS": "400"}  # one line, whatever the path's length
    command = [sys.executable, "-m", "vitalens.cli", "predict", "--task", "hb-nails", "--data", str(tmp_path / "nowhere")]
    done = subprocess.run(command, capture_output=True, text=True, env=wide)
    assert done.returncode == 2 and "error:" in done.stdout and "no such file or folder" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
