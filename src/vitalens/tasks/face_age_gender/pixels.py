"""Face crops decoded once into a uint8 array cache, so training epochs never touch JPEG decoding."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from vitalens.data.samples import Dataset
from vitalens.imaging import decode_image

DEFAULT_CACHE_DIR = Path("/tmp/vitalens-face-cache")


def resize_face(rgb: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR), dtype=np.uint8)


def cached_face_pixels(dataset: Dataset, size: int, cache_dir: Path | None = DEFAULT_CACHE_DIR, progress: bool = True) -> np.ndarray:
    """All samples as [N, size, size, 3] uint8, read from an .npy keyed by the file list when present."""
    key = hashlib.sha1(("\n".join(str(s.image_path) for s in dataset.samples) + f"|{size}").encode()).hexdigest()[:16]
    cache_file = Path(cache_dir) / f"faces-{size}-{key}.npy" if cache_dir else None
    if cache_file and cache_file.is_file():
        return np.load(cache_file, mmap_mode="r", allow_pickle=False)
    pixels = np.empty((len(dataset), size, size, 3), dtype=np.uint8)
    from rich.progress import track

    for index, sample in enumerate(track(dataset.samples, f"decoding faces at {size}px", disable=not progress)):
        pixels[index] = resize_face(decode_image(sample.image_path).rgb, size)
    if cache_file:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache_file, pixels)
    return pixels


def cached_stem_features(model, pixels: np.ndarray, tag: str, mirror: bool = False, cache_dir: Path | None = DEFAULT_CACHE_DIR) -> np.ndarray:
    """A frozen stem's outputs for `pixels`, cached as float16 .npy under a caller-chosen tag."""
    from vitalens.tasks.face_age_gender.model import stem_features

    cache_file = Path(cache_dir) / f"stem-{tag}{'-mirrored' if mirror else ''}.npy" if cache_dir else None
    if cache_file and cache_file.is_file():
        return np.load(cache_file, allow_pickle=False)
    features = stem_features(model, pixels, mirror=mirror)
    if cache_file:
        np.save(cache_file, features)
    return features
