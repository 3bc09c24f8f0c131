"""The hb-conjunctiva task: CP-AnemiC loader and dedup, hospital-grouped nested validation, the run files,
the shipped bundle, refusals and the interval. Tests on the real photos skip when ../shared is absent."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.imaging import decode_image
from vitalens.runs import RUN_FILES, Job
from vitalens.runtime import load_predictor, predict_one
from vitalens.tasks import get_task
from vitalens.tasks.hb_conjunctiva.data import SHEET, load_cp_anemic, recognises

REPO = Path(__file__).resolve().parents[1]
CP_ANEMIC = find_shared_dataset("cp-anemic")
needs_data = pytest.mark.skipif(CP_ANEMIC is None, reason=missing_dataset_message("cp-anemic"))
HEADER = ["IMAGE_ID", "HB_LEVEL", "Severity", "Age(Months)", "GENDER", "REMARK", "HOSPITAL"]


def eyelid(seed: int, size=(300, 120)) -> Image.Image:
    """A pink, lid-shaped cut-out on a transparent background, as CP-AnemiC's PNGs are."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    colour = tuple(int(v) for v in rng.integers([150, 60, 60], [230, 130, 120])) + (255,)
    ImageDraw.Draw(image).ellipse([20, 20, size[0] - 20, size[1] - 20], fill=colour)
    return image


def synthetic_layout(root: Path, hospitals=("A", "B", "C", "D"), per_hospital=6) -> Path:
    """A CP-AnemiC-shaped folder: one copy with the same label and one whose label disagrees."""
    rows = []
    for h, hospital in enumerate(hospitals):
        for i in range(per_hospital):
            image_id = f"Image_{h}{i:02d}"
            hb = 8.0 + (h * per_hospital + i) % 7
            folder = root / ("Anemic" if hb < 11 else "Non-anemic")
            folder.mkdir(parents=True, exist_ok=True)
            eyelid(h * 100 + i).save(folder / f"{image_id}.png")
            rows.append([image_id, hb, "", 24, "Female", "", hospital])
    first = root / "Anemic" / "Image_000.png"
    (root / "Anemic" / "Image_900.png").write_bytes(first.read_bytes())  # same label: one copy kept
    rows.append(["Image_900", rows[0][1], "", 24, "Female", "", rows[0][6]])
    (root / "Anemic" / "Image_901.png").write_bytes((root / "Anemic" / "Image_001.png").read_bytes())  # label differs: both dropped
    rows.append(["Image_901", 14.9, "", 24, "Female", "", "B"])
    with (root / SHEET).open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    return root


def test_loader_drops_copies_before_any_split_and_counts_them(tmp_path):
    root = synthetic_layout(tmp_path / "cp")
    assert recognises(root) and not recognises(tmp_path)
    dataset = load_cp_anemic(root)
    ids = {s.image_id for s in dataset.samples}
    assert "Image_000" in ids and "Image_900" not in ids  # same label: the first kept
    assert not {"Image_001", "Image_901"} & ids  # labels disagree: no copy kept
    assert len(dataset.problems) == 3 and all("duplicate" in p.reason for p in dataset.problems)
    assert {s.group for s in dataset.samples} == {"A", "B", "C", "D"} and dataset.samples[0].attributes["age_months"] == 24.0


@needs_data
def test_real_set_has_no_two_samples_with_the_same_bytes():
    dataset = load_cp_anemic(CP_ANEMIC)
    digests = [hashlib.sha256(s.image_path.read_bytes()).hexdigest() for s in dataset.samples]
    assert len(digests) == len(set(digests))
    assert len(dataset) + len(dataset.problems) == len(list(CP_ANEMIC.glob("*/*.png")))


def test_no_hospital_is_on_both_sides_of_any_split(tmp_path):
    from vitalens.tasks.hb_conjunctiva.training import feature_table, nested_cross_validation

    table, _ = feature_table(load_cp_anemic(synthetic_layout(tmp_path / "cp")))
    predictions, folds, log = nested_cross_validation(table)
    assert predictions.groupby("group")["fold"].nunique().eq(1).all()  # a hospital is held out whole, once
    assert len(folds) == table["group"].nunique() and all(row["held_out_hospital"] in set(table["group"]) for _, row in folds.iterrows())
    for fold in predictions["fold"].unique():
        held = set(predictions.loc[predictions["fold"] == fold, "group"])
        assert held.isdisjoint(set(predictions.loc[predictions["fold"] != fold, "group"]))
    assert {row["candidate"] for row in log} and sum(row["times_chosen"] for row in log) == len(folds)


def test_lifecycle_writes_every_run_file_and_exports_a_bundle_that_loads(tmp_path):
    from vitalens.bundle import load_bundle
    from vitalens.runs import write_config
    from vitalens.tasks.hb_conjunctiva.runtime import ConjunctivaHbPredictor

    task = get_task("hb-conjunctiva")
    job = Job(task.name, "train", synthetic_layout(tmp_path / "cp"), tmp_path / "run", task.parse_options("train", {"n_boot": "50"}))
    write_config(job)
    report = task.verb("train")(job)
    assert all((job.out / name).is_file() for name in RUN_FILES) and (job.out / "model.json").is_file()
    assert report["data"]["duplicates_dropped"] == 3 and report["headline"][0]["baseline_name"] == "mean predictor"
    bundle = task.verb("export")(Job(task.name, "export", job.out, tmp_path / "bundle"))
    predictor = ConjunctivaHbPredictor(load_bundle(bundle))
    card = (bundle / "MODEL_CARD.md").read_text()
    assert "research software, not a medical device" in card and "](interval_scale.svg)" in card  # the Hb scale beside it
    assert len(re.findall(r"90 % interval \d", (bundle / "interval_scale.svg").read_text())) == 3
    result = predictor.predict_image(decode_image(tmp_path / "cp" / "Anemic" / "Image_000.png").rgb, "x")
    assert result.status in ("ok", "refused") and (not result.ok or result.columns["interval_low"] >= 0)


def test_shipped_bundle_loads_and_refuses_blank_and_unsegmented_photos():
    predictor = load_predictor(task="hb-conjunctiva")
    blank = np.full((240, 320, 3), 255, np.uint8)
    face = decode_image(REPO / "examples" / "faces" / "astronaut_face.jpg").rgb
    for rgb in (blank, np.zeros_like(blank), face):
        assert predictor.predict_image(rgb, "x").status == "refused"
        result = predict_one(predictor, rgb, "x")
        assert result.status == "refused" and result.reasons and result.message


def test_interval_lower_bound_is_never_negative():
    predictor = load_predictor(task="hb-conjunctiva")
    from vitalens.tasks._haemoglobin.response import interval

    assert interval(0.5, predictor.uncertainty)[0] == 0.0
    for seed in range(5):
        result = predictor.predict_image(np.asarray(eyelid(seed).convert("RGB")), f"s{seed}")
        assert not result.ok or 0 <= result.columns["interval_low"] <= result.columns["predicted_hgb"] <= result.columns["interval_high"]


@needs_data
def test_shipped_bundle_reads_held_out_conjunctivae_with_bounded_intervals():
    from vitalens.evaluation.sites import site_photos

    predictor = load_predictor(task="hb-conjunctiva")
    results = [predict_one(predictor, decode_image(p).rgb, p.name) for p in site_photos("conjunctiva", "test", 20)]
    estimated = [r for r in results if r.ok]
    assert len(estimated) >= len(results) // 2
    assert all(r.columns["interval_low"] >= 0 for r in estimated)
    manifest = json.loads((REPO / "src/vitalens/bundles/hb-conjunctiva/bundle.json").read_text())
    assert manifest["demonstration"] is not manifest["validation"]["paired_mae_difference"]["excludes_zero"]
