"""Copies across the UTKFace split: held-out faces whose image also sits in training under another file name.

The face split is fixed by a hash of the file name (`vitalens.tasks.face_age_gender.data.split_of`), and UTKFace holds
the same image more than once, sometimes with a different age in its name. This benchmark links images
by the 16x16 average hash of `vitalens.tasks.skin_condition.duplicates` (at most `--max-bits` of 256 bits differ; by
eye, pairs up to 6 bits are one image and pairs at 8-10 bits are different people) and scores the shipped
face bundle, torch-free, on the held-out faces with and without those copies.

    python benchmarks/face_leakage.py [--data DIR] [--max-bits 6]

Research software, not a medical device.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from vitalens import DISCLAIMER
from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.tasks.face_age_gender.data import load_utkface, split_of
from vitalens.runtime import load_predictor
from vitalens.tasks.skin_condition.duplicates import average_hash, hamming_distances


def nearest_hash_distance(hashes: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each photo in `rows`, the fewest differing bits to a photo in `columns`, and which one."""
    distances = hamming_distances(hashes[rows], hashes[columns])
    return distances.min(axis=1), columns[distances.argmin(axis=1)]


def scores(predictions: list[dict], ages: np.ndarray, genders: np.ndarray) -> str:
    predicted_age = np.array([p["predicted_age"] for p in predictions])
    predicted_gender = np.array([p["predicted_gender"] for p in predictions])
    return f"{np.mean(predicted_gender == genders):.3f} | {np.mean(np.abs(predicted_age - ages)):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=find_shared_dataset("utkface"), help="the UTKFace folder (images/ or its parent)")
    parser.add_argument("--max-bits", type=int, default=6)
    args = parser.parse_args()
    if args.data is None:
        parser.error(missing_dataset_message("utkface"))
    images = args.data / "images" if (args.data / "images").is_dir() else args.data
    samples = load_utkface(images).samples
    split = np.array([split_of(s.image_id) for s in samples])
    hashes = np.stack([average_hash(np.asarray(Image.open(s.image_path).convert("RGB"))) for s in samples])
    held_out, train = np.flatnonzero(split == "test"), np.flatnonzero(split == "train")
    bits, partner = nearest_hash_distance(hashes, held_out, train)
    copied = bits <= args.max_bits
    ages = np.array([samples[i].targets["age"] for i in held_out])
    genders = np.array([samples[i].targets["gender"] for i in held_out])
    partner_ages = np.array([samples[i].targets["age"] for i in partner])
    print(f"Held-out faces: {len(held_out)}; with a training image within {args.max_bits} of 256 bits: {copied.sum()} "
          f"({copied.mean():.1%}); of those, {np.mean(ages[copied] != partner_ages[copied]):.0%} carry a different age in the file name "
          f"(median difference {np.median(np.abs(ages[copied] - partner_ages[copied])):.0f} years)")  # fmt: skip
    predictor = load_predictor(None, "face-age-gender")
    predictions = predictor.predict_crops([np.asarray(Image.open(samples[i].image_path).convert("RGB")) for i in held_out])
    print("\n| held-out faces | n | gender accuracy | age MAE (years) |\n|---|---|---|---|")
    for label, keep in (("all", np.ones(len(held_out), bool)), ("without copies of training images", ~copied), ("only the copies", copied)):
        print(f"| {label} | {keep.sum()} | " + scores([p for p, k in zip(predictions, keep) if k], ages[keep], genders[keep]) + " |")
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
