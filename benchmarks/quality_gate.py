"""Quality gate on real photos: how many of the 197 Yakimov photos pass, the range of each measure,
and what the gate says about degraded copies (dark, overexposed, blurred, card-only crop).

    python benchmarks/quality_gate.py [--data ../shared/data/yakimov2024]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from vitalens.tasks.hb_nails.data import load_yakimov
from vitalens.imaging import decode_image
from vitalens.quality import QualityMeasures, assess_photo

REPO = Path(__file__).resolve().parents[1]


def degraded_copies(rgb: np.ndarray, nail_boxes: list) -> dict[str, np.ndarray]:
    right_of_hand = max(b[3] for b in nail_boxes) + 200  # skin boxes lie ~150 px beyond the nails
    left_of_hand = min(b[1] for b in nail_boxes) - 80
    card = rgb[:, right_of_hand:] if rgb.shape[1] - right_of_hand > 150 else rgb[:, : max(left_of_hand, 1)]
    return {
        "dark (x0.25)": (rgb * 0.25).astype(np.uint8),
        "overexposed (x1.5)": np.clip(rgb * 1.5, 0, 255).astype(np.uint8),
        "blurred (gaussian 3 px)": np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(3))),
        "card only (crop beside the hand)": card,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("VITALENS_SHARED_DATA", str(REPO.parent / "shared" / "data")) + "/yakimov2024")
    args = parser.parse_args()
    dataset = load_yakimov(args.data)
    measures, verdicts, degraded = [], [], {}
    for sample in dataset.samples:
        rgb = decode_image(sample.image_path).rgb
        verdict = assess_photo(rgb)
        verdicts.append(verdict)
        measures.append(dataclasses.astuple(verdict.measures))
        for name, copy in degraded_copies(rgb, sample.boxes["nail"]).items():
            degraded.setdefault(name, []).append(assess_photo(copy))
    print(f"real photos passing the gate: {sum(v.ok for v in verdicts)}/{len(verdicts)}")
    print(Counter(code for v in verdicts for code in v.reasons) or "no refusals")
    table = np.array(measures)
    for field, column in zip((f.name for f in dataclasses.fields(QualityMeasures)), table.T):
        print(f"  {field:20} min {column.min():8.3f}  median {np.median(column):8.3f}  max {column.max():8.3f}")
    print("degraded copies of the same photos (refused / total, reasons):")
    for name, results in degraded.items():
        refused = sum(not v.ok for v in results)
        print(f"  {name:34} {refused}/{len(results)}  {dict(Counter(c for v in results for c in v.reasons))}")


if __name__ == "__main__":
    main()
