"""Does a frozen ImageNet embedding read Hb from the conjunctiva better than colour? (issue 22's last candidate)

Frozen EfficientNet-Lite0 embeddings (1280 numbers; the photo's cut-out composited on white, resized to
224 px) are added to the shipped colour candidates, with PCA (8, 32) and ridge (1, 10, 100), and the
whole pool goes through the same nested leave-one-hospital-out selection as `vitalens evaluate`
(`training.nested_cross_validation`): the outer MAE is the honest figure, and every candidate is logged.
Training world (torch); the shipped bundle is not touched. If embeddings won here, shipping them would
need a 7 MB embedding stage in the bundle and its browser twin.

    python benchmarks/hb_conjunctiva_embeddings.py
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from vitalens.backbones import build_backbone
from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.evaluation.metrics import paired_difference
from vitalens.imaging import decode_image
from vitalens.tasks.hb_conjunctiva.data import load_cp_anemic
from vitalens.tasks.hb_conjunctiva.training import ALPHAS, CANDIDATES, Candidate, feature_table, nested_cross_validation

SIDE = 224
COMPONENTS = (8, 32)


def embeddings(paths: list, batch: int = 32) -> np.ndarray:
    backbone = build_backbone("efficientnet_lite0").eval()
    rows = []
    with torch.no_grad():
        for start in range(0, len(paths), batch):
            images = [np.asarray(Image.fromarray(decode_image(p).rgb).resize((SIDE, SIDE), Image.BILINEAR)) for p in paths[start : start + batch]]
            pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
            rows.append(backbone(pixels).numpy())
    return np.concatenate(rows)


def main() -> None:
    root = find_shared_dataset("cp-anemic")
    if root is None:
        raise SystemExit(missing_dataset_message("cp-anemic"))
    dataset = load_cp_anemic(root)
    table, _ = feature_table(dataset)
    paths = {s.image_id: s.image_path for s in dataset.samples}
    names = tuple(f"emb_{k}" for k in range(1280))
    table[list(names)] = embeddings([paths[i] for i in table["image_id"]])
    pool = CANDIDATES + tuple(Candidate("embedding", alpha, names, k) for k in COMPONENTS for alpha in ALPHAS)
    predictions, folds, log = nested_cross_validation(table, pool)
    y, pred, base = (predictions[c].to_numpy() for c in ("hb_true", "hb_pred", "hb_mean_predictor"))
    paired = paired_difference(np.abs(pred - y), np.abs(base - y), clusters=predictions["group"], n_boot=2000, seed=0)
    print(f"nested leave-one-hospital-out, {len(table)} photos, {table['group'].nunique()} hospitals, pool of {len(pool)} candidates "
          f"({len(CANDIDATES)} colour + {len(pool) - len(CANDIDATES)} embedding)\n")  # fmt: skip
    print("| candidate | nested inner MAE | times chosen (of 10) |\n|---|---|---|")
    for row in log:
        print(f"| {row['candidate']} | {row['nested_inner_mae']:.3f} | {row['times_chosen']} |")
    print(f"\nouter MAE {np.abs(pred - y).mean():.3f} g/dL, mean predictor {np.abs(base - y).mean():.3f}; "
          f"difference {paired['difference']:+.3f}, 95 % CI {paired['ci'][0]:+.3f} to {paired['ci'][1]:+.3f} (hospitals resampled)")
    print("chosen per outer fold:", ", ".join(folds["chosen"]))


if __name__ == "__main__":
    main()
