"""The skin network: colour calibration → ImageNet backbone (frozen lower part, trainable top) →
feature map → global average pool → diagnosis head (21 conditions) and lighting head; plus the
class activation maps that the linear diagnosis head makes exact.

The backbone comes from `vitalens.backbones` and is cut at `frozen_blocks`: the lower part's
output can be computed once and cached (`lower`), and the top trains on the cache (`from_lower`).
"""

from __future__ import annotations

import pickle

from pathlib import Path

import numpy as np
import torch
from torch import nn

from vitalens.backbones import LITE_MEAN, LITE_STD, LiteLower, LiteTop, build_backbone
from vitalens.tasks.skin_condition.typicality import Typicality

FROZEN_BLOCKS = 10  # of EfficientNet-Lite's 16: blocks 10-15 and the head convolution train (the top ~40 %)


class ColourCalibration(nn.Module):
    """A learnable 3x3 colour matrix and bias on [0, 1] RGB, starting at the identity.

    `prior()` is the L2 distance from the identity, added to the loss so the layer only moves as far
    as the data asks (a photo's white balance should be corrected, not its lesion recoloured).
    """

    def __init__(self):
        super().__init__()
        self.matrix = nn.Parameter(torch.eye(3))
        self.bias = nn.Parameter(torch.zeros(3))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        mixed = torch.einsum("ij,bjhw->bihw", self.matrix, rgb) + self.bias[None, :, None, None]
        return mixed.clamp(0.0, 1.0)

    def prior(self) -> torch.Tensor:
        return ((self.matrix - torch.eye(3)) ** 2).sum() + (self.bias**2).sum()


class SkinNet(nn.Module):
    """[B, 3, S, S] RGB in [0, 1] → diagnosis logits [B, C], lighting logit [B], feature map [B, K, h, w]."""

    HEAT_MAP = "Grad-CAM per class, exact for the linear head on pooled features"

    def __init__(self, n_classes: int, backbone: str = "efficientnet_lite0", input_size: int = 224,
                 frozen_blocks: int = FROZEN_BLOCKS, pretrained: bool = True, dropout: float = 0.2):  # fmt: skip
        super().__init__()
        pooled = build_backbone(backbone, pretrained=pretrained)
        self.backbone_name, self.input_size, self.frozen_blocks = backbone, input_size, frozen_blocks
        self.cam_side = -(-input_size // 32)  # the Lite trunk's stride-32 map, padded up
        self.calibration = ColourCalibration()
        self.lower_part = LiteLower(pooled.trunk, frozen_blocks)
        self.top = LiteTop(pooled.trunk, frozen_blocks)
        self.dropout = nn.Dropout(dropout)
        # Pooled features are standardised with fixed training statistics (set in phase A), so the head
        # weights live on one scale and Adam's uniform steps do not wreck the phase-A solution.
        self.register_buffer("embedding_mean", torch.zeros(pooled.embedding_size))
        self.register_buffer("embedding_std", torch.ones(pooled.embedding_size))
        self.diagnosis_head = nn.Linear(pooled.embedding_size, n_classes)
        self.lighting_head = nn.Linear(pooled.embedding_size, 1)
        self.typicality = Typicality(pooled.embedding_size)

    def lower(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.lower_part((self.calibration(rgb) - LITE_MEAN) / LITE_STD)

    def from_lower(self, lower: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feature_map = self.top(lower)
        return (*self.heads(feature_map.mean(dim=(2, 3))), feature_map)

    def heads(self, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        standard = (embedding - self.embedding_mean) / self.embedding_std
        return self.diagnosis_head(self.dropout(standard)), self.lighting_head(standard).squeeze(1)

    def cam_weights(self) -> torch.Tensor:
        """d logit_c / d mean(A_k) for the diagnosis head on standardised pooled features: w_ck / std_k."""
        return self.diagnosis_head.weight / self.embedding_std

    def forward(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.from_lower(self.lower(rgb))

    def explain(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(diagnosis logits, lighting logit, Grad-CAM per class scaled to [0, 1], typicality score)."""
        logits, lighting, feature_map = self(rgb)
        return logits, lighting, class_activation_maps(feature_map, self.cam_weights()), self.typicality(feature_map.mean(dim=(2, 3)))

    def config(self) -> dict:
        return {"n_classes": self.diagnosis_head.out_features, "backbone": self.backbone_name,
                "input_size": self.input_size, "frozen_blocks": self.frozen_blocks}  # fmt: skip

    def describe(self) -> dict:
        return {"architecture": "phased fine-tune", "backbones": [self.backbone_name], "trainable_top_from_block": self.frozen_blocks,
                "colour_calibration": "learned 3x3 matrix + bias, clamped to [0, 1]"}  # fmt: skip


def class_activation_maps(feature_map: torch.Tensor, head_weight: torch.Tensor) -> torch.Tensor:
    """Grad-CAM for every class, [B, C, h, w] in [0, 1].

    With global average pooling and a linear head, d logit_c / d A_k(i, j) = w_ck / (h w) (w_ck =
    `SkinNet.cam_weights()`, which folds in the fixed feature standardisation), so
    Grad-CAM's channel weights are the head's weights (up to a positive constant) and
    ReLU(sum_k w_ck A_k) is exactly Grad-CAM (Selvaraju et al. 2017; CAM, Zhou et al. 2016). No
    gradient is needed, so the maps live inside the ONNX graph. Each map is scaled to its own maximum.
    """
    maps = torch.relu(torch.einsum("ck,bkhw->bchw", head_weight, feature_map))
    return maps / (maps.amax(dim=(2, 3), keepdim=True) + 1e-6)


def save_skin_model(model: nn.Module, classes: list[str], temperature: float, path: str | Path, **extra) -> None:
    """Tensors and plain Python values only, so the file loads with weights_only=True (never unpickles code)."""
    torch.save(plain({"config": model.config(), "classes": list(classes), "temperature": temperature, "state_dict": model.state_dict(), **extra}), path)


def plain(value):
    """numpy scalars and arrays to Python numbers and lists, recursively (tensors kept): what torch's
    weights-only loader accepts."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def load_skin_model(path: str | Path) -> tuple[nn.Module, dict]:
    """A saved SkinNet, or a SkinProbe when its config says kind "probe"."""
    from vitalens.tasks.skin_condition.probe import SkinProbe

    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(f"{path}: not a weights-only model file (vitalens never unpickles, which could run code); re-train with this vitalens.") from None
    config = dict(saved["config"])
    kind = config.pop("kind", "phased")
    model = (SkinProbe if kind == "probe" else SkinNet)(**config, pretrained=False)
    model.load_state_dict(saved["state_dict"])
    return model.eval(), saved
