"""Haemoglobin from nail regions: features per nail → a head per nail → the median over the photo's nails."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin

from vitalens.aggregate import mean_by_photo, median_by_photo
from vitalens.tasks.hb_nails.features import build_extractor
from vitalens.heads import fit_head, make_head
from vitalens.tasks.hb_nails.regions import NailRegions, region_inputs


class NailHbRegressor(BaseEstimator, RegressorMixin):
    """scikit-learn style: `fit(regions, y, groups)` / `predict(regions)`, one NailRegions per photo."""

    def __init__(
        self,
        features: str = "colour",
        head: str = "median",
        crop_size: int = 32,
        backbone: str = "efficientnet_lite0",
        cnn_input_size: int = 96,
        fit_on: str = "photo",
    ):
        self.features = features
        self.fit_on = fit_on
        self.head = head
        self.crop_size = crop_size
        self.backbone = backbone
        self.cnn_input_size = cnn_input_size

    def extractor(self) -> torch.nn.Module:
        if not hasattr(self, "extractor_"):
            self.extractor_ = build_extractor(self.features, backbone=self.backbone, input_size=self.cnn_input_size)
        return self.extractor_

    def transform(self, regions: list[NailRegions]) -> tuple[np.ndarray, np.ndarray]:
        """Feature rows, one per nail, and the index of the photo each row came from."""
        extractor = self.extractor()
        rows, photo_index = [], []
        with torch.no_grad():
            for index, region in enumerate(regions):
                feeds = region_inputs(region)
                rows.append(extractor(*(torch.from_numpy(feeds[name]) for name in extractor.inputs)).numpy())
                photo_index += [index] * len(region)
        return np.concatenate(rows).astype(np.float64), np.asarray(photo_index)

    def fit_features(self, X: np.ndarray, photo_index: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None):
        """`fit_on="photo"` fits one row per photo (its nails' mean features); `"nail"` one row per nail."""
        y = np.asarray(y, dtype=np.float64)
        if self.fit_on == "photo":
            X = mean_by_photo(X, photo_index)
            photo_index = np.arange(len(X))
        elif self.fit_on != "nail":
            raise ValueError(f"fit_on must be 'photo' or 'nail', not {self.fit_on!r}")
        row_groups = None if groups is None else np.asarray(groups)[photo_index]
        self.head_ = fit_head(make_head(self.head), X, y[photo_index], row_groups)
        return self

    def predict_features(self, X: np.ndarray, photo_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(per-photo median, per-nail predictions)."""
        per_nail = np.asarray(self.head_.predict(X), dtype=np.float64)
        return median_by_photo(per_nail, photo_index), per_nail

    def fit(self, regions: list[NailRegions], y, groups=None):
        X, photo_index = self.transform(regions)
        return self.fit_features(X, photo_index, y, groups)

    def predict(self, regions: list[NailRegions]) -> np.ndarray:
        X, photo_index = self.transform(regions)
        return self.predict_features(X, photo_index)[0]
