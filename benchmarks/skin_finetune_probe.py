"""Probe: does fine-tuning the whole skin network from augmented pixels (the recipe that took the face
model from 7.1 to 5.1 years MAE) beat the shipped phased schedule on this CPU? Validation split only:
the held-out split is not touched, so this can guide the next training run without spending it.

    python benchmarks/skin_finetune_probe.py [--data DIR] [--epochs 8] [--minutes 40]

Phase A as shipped (class-weighted logistic head on frozen pooled features), then everything but the
stem and block 0 trains from pixels with flips, affine jitter and brightness/contrast changes,
class-weighted cross-entropy, Adam. Prints validation top-1 / top-3 / macro-F1 and seconds per epoch.
Research software, not a medical device.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from vitalens import DISCLAIMER
from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.tasks.skin_condition.metrics import class_metrics
from vitalens.tasks.face_age_gender.trainer import augment_pixels
from vitalens.tasks.skin_condition.network import SkinNet
from vitalens.tasks.skin_condition.split import TEACHER_SIZE, prepare_split
from vitalens.tasks.skin_condition.fitting import unit_batch
from vitalens.tasks.skin_condition.phases import balanced_class_weights, fit_head

FROZEN_BLOCKS = 1


@torch.no_grad()
def logits_and_embeddings(model: SkinNet, pixels: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    logits, embeddings = [], []
    for start in range(0, len(pixels), batch):
        feature_map = model.top(model.lower(unit_batch(pixels[start : start + batch])))
        embedding = feature_map.mean(dim=(2, 3))
        logits.append(model.heads(embedding)[0].numpy())
        embeddings.append(embedding.numpy())
    return np.concatenate(logits), np.concatenate(embeddings)


def validation_scores(model: SkinNet, pixels: np.ndarray, labels: np.ndarray) -> str:
    metrics = class_metrics(labels, logits_and_embeddings(model, pixels)[0])
    return f"top-1 {metrics['top1']:.3f}, top-3 {metrics['top3']:.3f}, macro-F1 {metrics['macro_f1']:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=find_shared_dataset("fitzpatrick17k-ajl"), help="the fitzpatrick17k-ajl folder")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=40.0, help="stop after the epoch that crosses this budget")
    parser.add_argument("--lr", type=float, default=1e-4)
    args = parser.parse_args()
    if args.data is None:
        parser.error(missing_dataset_message("fitzpatrick17k-ajl"))
    torch.manual_seed(0)
    frame, pixels, _, _ = prepare_split(args.data, TEACHER_SIZE)
    classes = sorted(frame["label"].unique())
    y = frame["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    train, validation = (frame["split"] == "train").to_numpy(), (frame["split"] == "validation").to_numpy()
    model = SkinNet(len(classes), input_size=TEACHER_SIZE, frozen_blocks=FROZEN_BLOCKS)
    for parameter in model.lower_part.parameters():
        parameter.requires_grad_(False)
    model.calibration.requires_grad_(False)
    started = time.monotonic()
    _, embeddings = logits_and_embeddings(model, pixels[train])
    fit_head(model, embeddings, y[train], c=0.01)
    print(f"phase A (frozen ImageNet features, logistic head): validation {validation_scores(model, pixels[validation], y[validation])}, "
          f"{time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
    weights = torch.from_numpy(balanced_class_weights(y[train], len(classes)))
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=1e-4)
    generator, rng = torch.Generator().manual_seed(0), np.random.default_rng(0)
    train_pixels, train_labels = pixels[train], y[train]
    started = time.monotonic()
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.monotonic()
        model.train()
        model.lower_part.eval()
        order = rng.permutation(len(train_labels))
        for start in range(0, len(order), 32):
            index = np.sort(order[start : start + 32])
            images = augment_pixels(unit_batch(train_pixels[index]), generator).clamp(0, 1)
            logits, _, _ = model(images)
            loss = F.cross_entropy(logits, torch.from_numpy(train_labels[index]), weight=weights, label_smoothing=0.05)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        print(f"epoch {epoch}: validation {validation_scores(model, pixels[validation], y[validation])}, {time.monotonic() - epoch_start:.0f} s", flush=True)
        if (time.monotonic() - started) / 60 > args.minutes:
            print(f"stopping: the {args.minutes} min budget is spent", flush=True)
            break
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
