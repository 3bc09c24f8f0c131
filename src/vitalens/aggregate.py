"""From regions to a photo, and from photos (or video frames) to one estimate per person.

Pure numpy, shared by training, the runtime and (as rules in bundle.json) the browser app.
Per region → per photo: the median of the photo's regions. Several photos or frames → reject
outliers outside the Tukey fences (1.5 × IQR) then take the median, reporting what was used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IQR_FENCE = 1.5


def median_by_photo(values: np.ndarray, photo_index: np.ndarray) -> np.ndarray:
    photo_index = np.asarray(photo_index)
    photos = np.unique(photo_index)
    return np.array([np.median(values[photo_index == p]) for p in photos])


def mean_by_photo(rows: np.ndarray, photo_index: np.ndarray) -> np.ndarray:
    photo_index = np.asarray(photo_index)
    return np.stack([rows[photo_index == p].mean(axis=0) for p in np.unique(photo_index)])


@dataclass
class Aggregate:
    estimate: float
    n_inputs: int
    n_used: int
    n_rejected: int
    rejected: list[int]

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "n_inputs": self.n_inputs, "n_used": self.n_used, "n_rejected": self.n_rejected, "rejected_indices": self.rejected}


def iqr_inliers(values: np.ndarray, fence: float = IQR_FENCE) -> np.ndarray:
    """Boolean mask of values inside [Q1 - fence·IQR, Q3 + fence·IQR]; fewer than 4 values are all kept."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 4:
        return np.ones(len(values), dtype=bool)
    q1, q3 = np.percentile(values, [25, 75])
    spread = q3 - q1
    return (values >= q1 - fence * spread) & (values <= q3 + fence * spread)


def aggregate_estimates(values, fence: float = IQR_FENCE) -> Aggregate:
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        raise ValueError("no finite estimates to aggregate")
    keep = iqr_inliers(values[finite], fence)
    kept_positions = np.flatnonzero(finite)[keep]
    rejected = sorted(set(range(len(values))) - set(kept_positions.tolist()))
    return Aggregate(float(np.median(values[kept_positions])), len(values), len(kept_positions), len(rejected), rejected)
