"""Probe: how far do frozen ImageNet features go on the skin task when several backbones are pooled?
EfficientNet-Lite0, Lite1 and Lite2 embed each 192 px centre crop (no fine-tuning); a class-weighted
logistic head (C = 0.01, the shipped phase A's strength) is fitted on the training split per backbone,
and their probabilities are averaged. Validation split only: the held-out split stays unspent.

    python benchmarks/skin_frozen_ensemble.py [--data DIR]

Research software, not a medical device.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vitalens import DISCLAIMER
from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.evaluation_skin import class_metrics
from vitalens.features.backbones import build_backbone
from vitalens.models.skin_run import TEACHER_SIZE, prepare_split
from vitalens.models.skin_training import unit_batch

BACKBONES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
HEAD_C = 0.01


@torch.no_grad()
def embed(name: str, pixels: np.ndarray, batch: int = 64) -> np.ndarray:
    network = build_backbone(name, image_size=TEACHER_SIZE).eval()
    chunks = []
    for start in range(0, len(pixels), batch):
        chunks.append(network(unit_batch(pixels[start : start + batch])).numpy())
    return np.concatenate(chunks)


def scores(labels: np.ndarray, probabilities: np.ndarray) -> str:
    metrics = class_metrics(labels, probabilities)
    return " | ".join(f"{metrics[name] * 100:.1f}" for name in ("top1", "top3", "macro_f1"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=find_shared_dataset("fitzpatrick17k-ajl"), help="the fitzpatrick17k-ajl folder")
    args = parser.parse_args()
    if args.data is None:
        parser.error(missing_dataset_message("fitzpatrick17k-ajl"))
    frame, pixels, _, _ = prepare_split(args.data, TEACHER_SIZE)
    y = frame["label"].astype("category").cat.codes.to_numpy()
    train, validation = (frame["split"] == "train").to_numpy(), (frame["split"] == "validation").to_numpy()
    print("\n| frozen features + logistic | validation top-1 | top-3 | macro-F1 | seconds |\n|---|---|---|---|---|")
    probabilities = []
    for name in BACKBONES:
        started = time.monotonic()
        features = embed(name, pixels[train | validation])
        inside = train[train | validation]
        head = make_pipeline(StandardScaler(), LogisticRegression(C=HEAD_C, class_weight="balanced", max_iter=500))
        head.fit(features[inside], y[train])
        probabilities.append(head.predict_proba(features[~inside]))
        print(f"| {name} | {scores(y[validation], probabilities[-1])} | {time.monotonic() - started:.0f} |", flush=True)
    print(f"| mean of the three | {scores(y[validation], np.mean(probabilities, axis=0))} | |")
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
