"""Is this photo like the ones the model learned from? A novelty score on a model's pooled features.

A skin classifier names a condition for any photo, a fingernail or a blank wall included, and its top
probability says little about that (benchmarks/skin_ood.py, shipped bundle: AUROC 0.63-0.71 for faces,
fingernails and conjunctivae against held-out clinical photos). The distance of the photo's pooled
features from the subspace the training photos span separates them far better (0.88-1.00). The score is the squared residual of the standardised features
after projection onto their first principal components (fitted on the training photos), divided by its
95th percentile on the validation photos: above 1 means less typical than 95 % of real clinical photos.
It lives in the ONNX graph as one small linear map, so the runtime, the API and the browser read it
like any other output.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA
from torch import nn

COMPONENTS = 64
REFERENCE_PERCENTILE = 95.0


class Typicality(nn.Module):
    """[B, D] pooled features → [B] novelty score (≤ 1 for REFERENCE_PERCENTILE % of validation photos)."""

    def __init__(self, width: int, components: int = COMPONENTS):
        super().__init__()
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("std", torch.ones(width))
        self.register_buffer("components", torch.zeros(components, width))
        self.register_buffer("reference", torch.zeros(()))  # 0 until fitted: every score is then infinite

    @property
    def fitted(self) -> bool:
        return bool(self.reference > 0)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        standard = (pooled - self.mean) / self.std
        # The components are orthonormal, so |z - z C^T C|^2 = |z|^2 - |z C^T|^2: one product, and the
        # exported graph holds one copy of C instead of C and its transpose.
        residual = (standard**2).sum(dim=1) - (standard @ self.components.T).pow(2).sum(dim=1)
        return residual.clamp_min(0.0) / self.reference


def fit_typicality(module: Typicality, train_features: np.ndarray, validation_features: np.ndarray, seed: int = 0) -> dict:
    """Principal components of the standardised training features; the reference from the validation photos.
    With fewer training photos than components, the missing components stay zero (they project nothing)."""
    mean, std = train_features.mean(0), train_features.std(0) + 1e-6
    wanted = module.components.shape[0]
    pca = PCA(min(wanted, *train_features.shape), random_state=seed).fit((train_features - mean) / std)
    with torch.no_grad():
        module.mean.copy_(torch.from_numpy(mean).float())
        module.std.copy_(torch.from_numpy(std).float())
        module.components.zero_()
        module.components[: pca.n_components_].copy_(torch.from_numpy(pca.components_).float())
        module.reference.fill_(1.0)
        raw = module(torch.from_numpy(validation_features).float()).numpy()
        module.reference.fill_(float(np.percentile(raw, REFERENCE_PERCENTILE)))
    return {"components": int(pca.n_components_), "explained_variance": float(pca.explained_variance_ratio_.sum()),
            "reference": float(module.reference), "train_photos": len(train_features), "validation_photos": len(validation_features)}  # fmt: skip
