"""Does test-time augmentation help the shipped skin bundle? Orientation views (mirrors, rotations)
of each centre crop are run through the bundle's ONNX graph and their calibrated probabilities are
averaged; top-1 / top-3 / macro-F1 on the validation split (where a choice would be made) and on the
held-out split (reported, never chosen on), beside the bundle's plain single view.

    python benchmarks/skin_tta.py [--data DIR] [--bundle DIR]

Clinical photos have no canonical orientation, so any mirror or right-angle rotation of a lesion is
as plausible a photo as the original. Research software, not a medical device.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vitalens import DISCLAIMER
from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.tasks.skin_condition.metrics import class_metrics
from vitalens.bundle import load_bundle, shipped_bundle_path
from vitalens.tasks.skin_condition.runtime import SkinPredictor

View = Callable[[np.ndarray], np.ndarray]  # [B, S, S, 3] -> [B, S, S, 3]
VIEWS: dict[str, View] = {
    "identity": lambda x: x,
    "mirror": lambda x: x[:, :, ::-1],
    "flip": lambda x: x[:, ::-1],
    "rot180": lambda x: x[:, ::-1, ::-1],
    "rot90": lambda x: np.rot90(x, 1, axes=(1, 2)),
    "rot270": lambda x: np.rot90(x, 3, axes=(1, 2)),
    "transpose": lambda x: x.transpose(0, 2, 1, 3),
    "antitranspose": lambda x: np.rot90(x, 2, axes=(1, 2)).transpose(0, 2, 1, 3),
}
SCHEMES = {
    "single view (shipped)": ["identity"],
    "+ mirror": ["identity", "mirror"],
    "4 views (mirrors, 180°)": ["identity", "mirror", "flip", "rot180"],
    "8 views (dihedral group)": list(VIEWS),
}


def probabilities_by_view(predictor: SkinPredictor, crops: np.ndarray, batch: int = 16) -> dict[str, np.ndarray]:
    from tqdm import tqdm

    result = {}
    for name, view in tqdm(VIEWS.items(), desc="views"):
        chunks = [predictor.run(np.ascontiguousarray(view(crops[i : i + batch])))[0] for i in range(0, len(crops), batch)]
        result[name] = np.concatenate(chunks)
    return result


def main() -> None:
    from vitalens.tasks.skin_condition.split import prepare_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=find_shared_dataset("fitzpatrick17k-ajl"), help="the fitzpatrick17k-ajl folder")
    parser.add_argument("--bundle", type=Path, default=shipped_bundle_path("skin-condition"))
    args = parser.parse_args()
    if args.data is None:
        parser.error(missing_dataset_message("fitzpatrick17k-ajl"))
    predictor = SkinPredictor(load_bundle(args.bundle))
    frame, pixels, _, _ = prepare_split(args.data, predictor.size)
    label_index = {label: i for i, label in enumerate(predictor.labels)}
    print(f"\n| scheme | split | n | top-1 | top-3 | macro-F1 |\n|---|---|---|---|---|---|")
    for split in ("validation", "test"):
        mask = (frame["split"] == split).to_numpy()
        labels = frame.loc[mask, "label"].map(label_index).to_numpy()
        by_view = probabilities_by_view(predictor, pixels[mask])
        for scheme, views in SCHEMES.items():
            s = class_metrics(labels, np.mean([by_view[v] for v in views], axis=0))
            print(f"| {scheme} | {split} | {mask.sum()} | {s['top1']:.3f} | {s['top3']:.3f} | {s['macro_f1']:.3f} |", flush=True)
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
