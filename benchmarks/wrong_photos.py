"""Does each model refuse what it was not trained for? Every task's shipped bundle on every body site's
photos (the *test* half of vitalens.evaluation.sites, never the half the gates were tuned on) and on
synthetic images; a cell counts the photos that came back with an estimate, i.e. were not refused (for
skin, the photo check's atypical photos are refusals too).

    python benchmarks/wrong_photos.py [--per-site 40]
"""

from __future__ import annotations

import argparse

from vitalens.evaluation.sites import SITES, site_photos, synthetic_images
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.runtime import load_predictor, predict_one
from vitalens.tasks import all_tasks


def answered(predictor, rgb, image_id: str) -> bool:
    return predict_one(predictor, rgb, image_id).ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-site", type=int, default=40)
    args = parser.parse_args()
    photos = {site: site_photos(site, "test", args.per_site) for site in SITES}
    images = {site: [] for site in SITES}
    for site, paths in photos.items():
        for path in paths:
            try:
                images[site].append((path.name, decode_image(path).rgb))
            except ImageDecodeError as error:
                print(f"skipped {error}")
    synthetic = list(synthetic_images().items())
    header = ["model ↓ / photos →", *(f"{site} ({len(images[site])})" for site in SITES), f"synthetic ({len(synthetic)})"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for name, task in all_tasks().items():
        predictor = load_predictor(task=name)
        cells = []
        for site in SITES:
            hits = sum(answered(predictor, rgb, image_id) for image_id, rgb in images[site])
            own = " (own)" if site == task.body_site else ""
            cells.append(f"{hits}{own}" if images[site] else "–")
        cells.append(str(sum(answered(predictor, rgb, image_id) for image_id, rgb in synthetic)))
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
