"""A 90 % conformal interval for the face model's age, so an age comes with how far off it may be.

Fitted on UTKFace's validation split (never the held-out test), through the served path (detector,
alignment, model), as split conformal prediction, Mondrian by the estimated age: the model errs by a few
years on children and by ten or more on the old, so one width would be too wide for the young and too
narrow for the old. The bins are the card's age bands (`data.AGE_BANDS`), fixed before fitting. Its
coverage is then checked on the held-out test split, overall and by true age band, and both go into
bundle.json (`age_interval`, read by `runtime.FacePredictor` and face.js) and the model card.

    python -m vitalens.tasks.face_age_gender.age_interval UTKFACE_DIR [--bundle DIR] [--write]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from vitalens.imaging import decode_image
from vitalens.tasks.face_age_gender import TASK
from vitalens.tasks.face_age_gender.data import AGE_BANDS, age_band, load_utkface
from vitalens.tasks.face_age_gender.regions import FaceRegionError
from vitalens.uncertainty import bin_of, half_width_at, mondrian_half_widths

COVERAGE = 0.9
EDGES = [float(low) for low, _, _ in AGE_BANDS[1:]]  # 18, 30, 50, 70: the estimate's band picks the width


def served_ages(predictor: Any, samples: list) -> tuple[np.ndarray, np.ndarray]:
    """(true ages, estimated ages) of the samples the detector answers, through predict_batch's path."""
    truth, estimates = [], []
    for sample in samples:
        try:
            crop, _ = predictor.locate(decode_image(sample.image_path).rgb)
        except FaceRegionError:
            continue
        truth.append(sample.targets["age"])
        estimates.append(predictor.predict_crops([crop])[0]["predicted_age"])
    return np.asarray(truth, float), np.asarray(estimates, float)


def fit(predictor: Any, data_dir: Path) -> dict[str, Any]:
    samples = load_utkface(data_dir).samples
    true, estimate = served_ages(predictor, [s for s in samples if s.attributes["split"] == "validation"])
    widths = mondrian_half_widths(np.abs(true - estimate), bin_of(estimate, EDGES), COVERAGE)
    block = {"method": "split conformal, Mondrian by the estimated age's band", "coverage": COVERAGE, "bin_edges": EDGES,
             "bin_half_widths": [widths.get(b, max(widths.values())) for b in range(len(EDGES) + 1)],
             "calibrated_on": f"UTKFace validation split through the detector and alignment ({len(true)} faces)"}  # fmt: skip
    test = [s for s in samples if s.attributes["split"] == "test"]
    true, estimate = served_ages(predictor, test)
    low, high = interval(estimate, block)
    covered = (true >= low) & (true <= high)
    bands = np.array([age_band(a) for a in true])
    block["held_out_check"] = {"n": len(true), "coverage": float(covered.mean()), "mean_width": float(np.mean(high - low)),
                               "by_true_age_band": {label: {"n": int((bands == label).sum()), "coverage": float(covered[bands == label].mean())}
                                                    for _, _, label in AGE_BANDS if (bands == label).any()}}  # fmt: skip
    return block


def interval(estimates: np.ndarray, block: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds, inside the plausible 0-120 years (an age is never negative)."""
    widths = np.array([half_width_at(block, float(e)) for e in np.atleast_1d(estimates)])
    return np.clip(estimates - widths, 0.0, 120.0), np.clip(estimates + widths, 0.0, 120.0)


def card_lines(block: dict[str, Any]) -> list[str]:
    check = block["held_out_check"]
    edges = [0, *block["bin_edges"]]
    lines = [f"A {block['coverage']:.0%} interval comes with every age: {block['method']}, calibrated on the {block['calibrated_on']}.", "",
             "| estimated age | half-width (years) |", "|---|---|"]  # fmt: skip
    lines += [f"| {low:g}{f'-{high:g}' if high else '+'} | ±{w:.1f} |" for low, high, w in zip(edges, [*block["bin_edges"], None], block["bin_half_widths"])]
    lines += ["", "The validation split also chose the epoch and the temperature, so its errors may run a little small; the held-out check "
              f"shows what that costs. On the held-out test split ({check['n']} faces) the interval covered {check['coverage']:.1%} "
              f"(mean width {check['mean_width']:.1f} years):", "",
              "| true age band | n | coverage |", "|---|---|---|"]  # fmt: skip
    lines += [f"| {band} | {row['n']} | {row['coverage']:.1%} |" for band, row in check["by_true_age_band"].items()]
    return lines


def main() -> None:
    from vitalens.bundle import shipped_bundle_path
    from vitalens.bundle.writer import update_bundle
    from vitalens.model_card import with_section
    from vitalens.runtime import load_predictor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--write", action="store_true", help="store it in the bundle's bundle.json and model card")
    args = parser.parse_args()
    bundle_dir = args.bundle or shipped_bundle_path(TASK.name)
    block = fit(load_predictor(bundle_dir), args.data)
    print("\n".join(card_lines(block)))
    if args.write:
        update_bundle(bundle_dir, {}, {"age_interval": block}, lambda card, _: with_section(card, "Age interval", card_lines(block)))


if __name__ == "__main__":
    main()
