"""Two-stage fingernail Hb on raw photos vs the same model fed the annotated boxes, on the same folds.

    python benchmarks/two_stage.py [--data ../shared/data/yakimov2024] [--detections benchmarks/results/detector_oof_detections.csv]

The detections are out-of-fold: each photo was detected by the detector trained without its session
(`python benchmarks/detector.py cv` writes them, with the fold of every photo). Here the Hb model is
refitted on the annotated boxes of the same training sessions, then each held-out photo is estimated
twice: from its annotated boxes and from the detector's (the runtime's rules: quality gate, score
>= threshold, the three most confident nails, nearest detected skin). Research software, not a
medical device.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from vitalens.tasks._haemoglobin.config import load_config
from vitalens.evaluation.metrics import regression_metrics
from vitalens.imaging import decode_image
from vitalens.tasks.hb_nails.model import NailHbRegressor
from vitalens.tasks.hb_nails.detection import Detection
from vitalens.tasks.hb_nails.regions import nail_regions
from vitalens.tasks.hb_nails.lifecycle import prepare
from vitalens.runtime import load_bundle, shipped_bundle_path
from vitalens.tasks.hb_nails.runtime import find_nails

REPO = Path(__file__).resolve().parents[1]


def load_detections(path: Path) -> tuple[dict[str, list[Detection]], dict[str, int]]:
    table = pd.read_csv(path, dtype={"image_id": str})
    detections = {
        image_id: [Detection(r["class"], float(r["score"]), (r.ymin, r.xmin, r.ymax, r.xmax)) for _, r in rows.iterrows()]
        for image_id, rows in table.groupby("image_id")
    }
    return detections, table.groupby("image_id")["fold"].first().to_dict()


def detected_regions(sample, detections: list[Detection], crop_size: int, rules: dict):
    """The runtime's own first-stage gates, fed the out-of-fold detections instead of running a detector."""
    rgb = decode_image(sample.image_path).rgb
    found, _ = find_nails(rgb, lambda: detections, rules)
    return None if found is None else nail_regions(rgb, found.nail_boxes, found.skin_boxes, crop_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "yakimov2024"))
    parser.add_argument("--detections", default=str(REPO / "benchmarks" / "results" / "detector_oof_detections.csv"))
    args = parser.parse_args()
    config = load_config(data=args.data)  # the shipped configuration
    data = prepare(config, show_progress=False)
    detections, fold_of = load_detections(Path(args.detections))
    folds = np.array([fold_of[s.image_id] for s in data.samples])
    rules = load_bundle(shipped_bundle_path("hb-nails")).manifest["detector"]  # the shipped thresholds
    detected = [detected_regions(s, detections.get(s.image_id, []), config.crop_size, rules) for s in data.samples]
    y, groups = data.y, data.groups
    annotated_pred, detected_pred, mean_pred = (np.full(len(y), np.nan) for _ in range(3))
    for fold in np.unique(folds):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        assert not set(groups[train]) & set(groups[test]), "a session on both sides"
        model = NailHbRegressor(**config.model_params()).fit([data.regions[i] for i in train], y[train], groups[train])
        annotated_pred[test] = model.predict([data.regions[i] for i in test])
        usable = [i for i in test if detected[i] is not None]
        detected_pred[usable] = model.predict([detected[i] for i in usable])
        mean_pred[test] = y[train].mean()
    estimated = ~np.isnan(detected_pred)
    print(f"{len(y)} photos, {len(set(groups))} sessions, {len(np.unique(folds))} session folds (the detector's CV folds); "
          f"{config.features} + {config.head}")
    print(f"two-stage refused {int((~estimated).sum())} photos (quality gate or no confident nail)\n")
    print(f"{'input boxes':34s} {'n':>4s} {'MAE':>6s} {'RMSE':>6s} {'R2':>6s} {'bias':>6s}")
    rows = [("annotated (all photos)", annotated_pred, np.ones(len(y), bool)),
            ("annotated (photos two-stage kept)", annotated_pred, estimated),
            ("detected: two-stage on raw photos", detected_pred, estimated),
            ("mean predictor", mean_pred, np.ones(len(y), bool))]
    for label, predicted, mask in rows:
        m = regression_metrics(y[mask], predicted[mask])
        print(f"{label:34s} {mask.sum():4d} {m['mae']:6.3f} {m['rmse']:6.3f} {m['r2']:6.3f} {m['bias']:+6.3f}")
    gap = regression_metrics(y[estimated], detected_pred[estimated])["mae"] - regression_metrics(y[estimated], annotated_pred[estimated])["mae"]
    difference = np.abs(detected_pred - annotated_pred)[estimated]
    print(f"\nMAE gap two-stage − annotated: {gap:+.3f} g/dL; per-photo |detected − annotated| median {np.median(difference):.2f}, "
          f"95th percentile {np.percentile(difference, 95):.2f}, max {difference.max():.2f} g/dL")


if __name__ == "__main__":
    main()
