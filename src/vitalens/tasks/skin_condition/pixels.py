"""Skin photos decoded once: centre-cropped pixels at the network's size and a perceptual hash per
photo, cached as .npz so training never touches JPEG decoding again. Unreadable photos become Problems."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vitalens.data.samples import Dataset, Problem
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.regions.centre_crop import centre_crop_resized
from vitalens.tasks.skin_condition.duplicates import HASH_SIDE, average_hash

DEFAULT_CACHE_DIR = Path("experiments/cache")


@dataclass
class SkinPixels:
    dataset: Dataset  # only the photos that decoded; the others are in dataset.problems
    pixels: np.ndarray  # [N, S, S, 3] uint8, centre crop
    hashes: np.ndarray  # [N, bits] bool average hash of the whole photo


def load_skin_pixels(dataset: Dataset, size: int, cache_dir: Path | None = DEFAULT_CACHE_DIR, progress: bool = True) -> SkinPixels:
    key = hashlib.sha1(("\n".join(str(s.image_path) for s in dataset.samples) + f"|{size}|hash{HASH_SIDE}").encode()).hexdigest()[:16]
    cache_file = Path(cache_dir) / f"skin-{size}-{key}.npz" if cache_dir else None
    if cache_file and cache_file.is_file():
        stored = np.load(cache_file)
        keep = stored["keep"]
        problems = [Problem(str(dataset.samples[i].image_path), str(reason)) for i, reason in zip(np.flatnonzero(~keep), stored["reasons"])]
        return SkinPixels(_kept(dataset, keep, problems), stored["pixels"], stored["hashes"])
    from rich.progress import track

    pixels, hashes, keep, problems = [], [], np.zeros(len(dataset), bool), []
    for index, sample in enumerate(track(dataset.samples, description=f"decoding skin photos at {size}px", disable=not progress, transient=True)):
        try:
            rgb = decode_image(sample.image_path).rgb
            pixels.append(centre_crop_resized(rgb, size))
        except (ImageDecodeError, ValueError) as error:
            problems.append(Problem(str(sample.image_path), str(error)))
            continue
        hashes.append(average_hash(rgb))
        keep[index] = True
    pixels_array = np.stack(pixels) if pixels else np.zeros((0, size, size, 3), np.uint8)
    hashes_array = np.stack(hashes) if hashes else np.zeros((0, HASH_SIDE**2), bool)
    if cache_file:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache_file, pixels=pixels_array, hashes=hashes_array, keep=keep, reasons=np.array([p.reason for p in problems], dtype=str))
    return SkinPixels(_kept(dataset, keep, problems), pixels_array, hashes_array)


def _kept(dataset: Dataset, keep: np.ndarray, problems: list[Problem]) -> Dataset:
    return Dataset(dataset.name, dataset.root, [s for s, k in zip(dataset.samples, keep) if k], list(dataset.problems) + problems)
