"""The numpy stages of the nail and lip tasks one by one, in milliseconds per photo: the median over the
held-out photos of each stage's best of five runs (the best run is steadier than the mean on a machine
shared with other jobs). Point PYTHONPATH at another checkout's src/ to time its code on the same photos.

    python benchmarks/numpy_stages.py [--photos 20]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from vitalens.evaluation.sites import site_photos
from vitalens.imaging import decode_image
from vitalens.quality import assess_photo
from vitalens.runtime import load_predictor
from vitalens.tasks import get_task
from vitalens.tasks.hb_lips.lip_colour import lip_colour_features
from vitalens.tasks.hb_lips.regions import find_lips
from vitalens.tasks.hb_nails.detection import detections_to_regions
from vitalens.tasks.hb_nails.regions import nail_regions, reference_red, reference_white


def best_ms(step, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return 1000 * min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=20)
    args = parser.parse_args()
    rows = defaultdict(list)
    nails = load_predictor(None, "hb-nails")
    rules = nails.detector_rules
    for path in site_photos(get_task("hb-nails").body_site, "test", args.photos):
        rgb = decode_image(path).rgb
        found = detections_to_regions(nails.detector.detect(rgb, rules["score_threshold"], rules["iou_threshold"]),
                                      rules["score_threshold"], rules["max_nails"])  # fmt: skip
        rows["hb-nails decode"].append(best_ms(lambda: decode_image(path)))
        rows["hb-nails quality gate"].append(best_ms(lambda: assess_photo(rgb)))
        rows["hb-nails references (white, red)"].append(best_ms(lambda: (reference_white(rgb), reference_red(rgb))))
        rows["hb-nails regions (references, crops, skin tone)"].append(
            best_ms(lambda: nail_regions(rgb, found.nail_boxes, found.skin_boxes, nails.crop_size)))
    for path in site_photos(get_task("hb-lips").body_site, "test", args.photos):
        rgb = decode_image(path).rgb
        region = find_lips(rgb).region
        rows["hb-lips decode"].append(best_ms(lambda: decode_image(path)))
        rows["hb-lips lip finder"].append(best_ms(lambda: find_lips(rgb)))
        if region is not None:
            rows["hb-lips colour features"].append(best_ms(lambda: lip_colour_features(rgb, region.box, region.skin_box)))
    print("| stage | ms | photos |\n|---|---|---|")
    for stage, values in rows.items():
        print(f"| {stage} | {np.median(values):.1f} | {len(values)} |")


if __name__ == "__main__":
    main()
