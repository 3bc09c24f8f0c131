"""The fixed held-out protocol of the skin task: Fitzpatrick17k → near-duplicate groups → held-out test and
validation splits, stratified by diagnosis, whole groups only.

The held-out test split (1/6 of the photos) is only ever predicted: choices are made on the validation part
(1/6 of the rest). Linking near-copies needs frozen-trunk features (torch), so the split of the shipped
bundle is also stored (`heldout.py`) for evaluations that should not need torch.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from vitalens.evaluation.splits import assert_no_leakage, stratified_group_holdout, stratified_grouped_folds
from vitalens.tasks.skin_condition.data import load_fitzpatrick17k
from vitalens.tasks.skin_condition.duplicates import DEFAULT_MAX_DISTANCE, DEFAULT_MIN_COSINE, near_duplicate_groups
from vitalens.tasks.skin_condition.lighting import lighting_label
from vitalens.tasks.skin_condition.pixels import DEFAULT_CACHE_DIR, load_skin_pixels
from vitalens.tasks.skin_condition.probe import SkinProbe, probe_features
from vitalens.tasks.skin_condition.tone import ita_group, measure_ita

TEST_PARTS = 6  # held-out test = 1 of 6 stratified grouped folds (~16.7 %)
VALIDATION_PARTS = 6  # validation = 1 of 6 folds of the rest (~13.9 % of all)
SPLIT_SEED = 0
TEACHER_SIZE = 192
# The frozen trunks and layers whose features link near-copies before splitting (fixed, so the split does
# not move when the depth probe's design does).
LINK_BACKBONES, LINK_SIZE, LINK_DEPTH_RULE = ("efficientnet_lite0", "efficientnet_lite2"), 192, "every_third_from_middle"


def prepare_split(data_dir: str | Path, size: int = TEACHER_SIZE, cache_dir: Path | None = DEFAULT_CACHE_DIR) -> tuple[pd.DataFrame, np.ndarray, list, dict]:
    """One row per usable photo (id, label, groups, split, audit attributes, lighting label), its pixels, the problems, summary."""
    dataset = load_fitzpatrick17k(data_dir)
    loaded = load_skin_pixels(dataset, size, cache_dir)
    samples = loaded.dataset.samples
    link_pixels = loaded.pixels if size == LINK_SIZE else load_skin_pixels(dataset, LINK_SIZE, cache_dir).pixels
    groups = near_duplicate_groups(loaded.hashes, embeddings=_linking_embeddings(link_pixels, [s.image_id for s in samples], cache_dir))
    ita = np.array([measure_ita(p) for p in loaded.pixels])
    frame = pd.DataFrame({
        "image_id": [s.image_id for s in samples],
        "label": [s.targets["condition"] for s in samples],
        "three_partition": [s.targets["three_partition"] for s in samples],
        "group": groups,
        "fitzpatrick": [s.attributes["fitzpatrick"] for s in samples],
        "fitzpatrick_group": [s.attributes["fitzpatrick_group"] for s in samples],
        "ita": ita,
        "ita_group": [ita_group(v) for v in ita],
        "lighting_good": [lighting_label(p) for p in loaded.pixels],
    })  # fmt: skip
    rest, test = stratified_group_holdout(frame["label"], groups, TEST_PARTS, SPLIT_SEED)
    fit, validation = stratified_group_holdout(frame["label"].to_numpy()[rest], groups[rest], VALIDATION_PARTS, SPLIT_SEED)
    split = np.full(len(frame), "train", dtype=object)
    split[test], split[rest[validation]] = "test", "validation"
    frame["split"] = split
    for a, b in (("train", "test"), ("validation", "test"), ("train", "validation")):
        assert_no_leakage(groups, np.flatnonzero(split == a), np.flatnonzero(split == b))
    counts = np.bincount(groups)
    summary = {
        "photos": len(frame), "skipped": len(loaded.dataset.problems),
        "skipped_files": [f"{p.source}: {p.reason}" for p in loaded.dataset.problems],
        "near_duplicate_groups": int(len(counts)), "groups_with_several_photos": int((counts > 1).sum()),
        "photos_in_such_groups": int(counts[counts > 1].sum()), "largest_group": int(counts.max()),
        "hash": f"16x16 average hash, linked at <= {DEFAULT_MAX_DISTANCE} of 256 bits",
        "features": f"also linked at cosine >= {DEFAULT_MIN_COSINE} of the standardised pooled features of frozen {' + '.join(LINK_BACKBONES)} at {LINK_SIZE} px",
        "split_sizes": {name: int((split == name).sum()) for name in ("train", "validation", "test")},
        "split_rule": f"held-out test: fold 0 of StratifiedGroupKFold({TEST_PARTS}, shuffle, seed {SPLIT_SEED}) by diagnosis over near-duplicate groups; "
                      f"validation: fold 0 of the same with {VALIDATION_PARTS} folds on the rest",
    }  # fmt: skip
    return frame, loaded.pixels, loaded.dataset.problems, summary


def _linking_embeddings(pixels: np.ndarray, image_ids: list[str], cache_dir: Path | None) -> np.ndarray:
    """Pooled features of the frozen probe trunks (identity view) that link recropped copies and re-photographed
    lesions into one group (`vitalens.tasks.skin_condition.duplicates`); cached, as they cost a minute on two cores."""
    key = hashlib.sha1(("\n".join(image_ids) + f"|{'+'.join(LINK_BACKBONES)}|{LINK_SIZE}|{LINK_DEPTH_RULE}").encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"skin-links-{key}.npy" if cache_dir else None
    if path and path.is_file():
        return np.load(path)
    embeddings = probe_features(SkinProbe(1, LINK_BACKBONES, LINK_SIZE, views=("identity",), depth_rule=LINK_DEPTH_RULE), pixels)[0]
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, embeddings)
    return embeddings


def train_validation_folds(labels, groups, split, n_folds: int, seed: int = SPLIT_SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """K (train, scored) index pairs over the train + validation photos (the held-out split left out),
    stratified by label, whole near-duplicate groups only."""
    pool = np.flatnonzero(np.asarray(split) != "test")
    return [(pool[fit], pool[scored]) for fit, scored in stratified_grouped_folds(np.asarray(labels)[pool], np.asarray(groups)[pool], n_folds, seed)]


def pixels_at(data_dir, frame: pd.DataFrame, size: int) -> np.ndarray:
    """The run's photos, in the frame's order, centre-cropped at another size."""
    loaded = load_skin_pixels(load_fitzpatrick17k(data_dir), size)
    assert [s.image_id for s in loaded.dataset.samples] == list(frame["image_id"]), f"the photos at {size} px differ from the run's"
    return loaded.pixels
