"""Face age + gender: one shared trunk, a 2-logit gender head and an age/100 regression head.

Backbones are registered by name. `seed-mtl` reconstructs the seed system's published shape (a
~1.2 M-parameter plain CNN on 112x112 crops, trained from scratch) so its figures can be compared on
our split; `lite0` is ImageNet EfficientNet-Lite0 loaded from the offline weight package. Lite0 is
split into a frozen stem, whose outputs are computed once and cached (plain and mirrored), and a
trainable top, so CPU epochs take seconds rather than many minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from vitalens.features.backbones import LiteLower, LiteTop, build_backbone

INPUT_SIZE = 112
AGE_SCALE = 100.0  # the age head predicts age / 100, as the seed contract does


@dataclass(frozen=True)
class Preprocessing:
    """How the network wants pixels: RGB scaled to [0, 1], then (x - mean) / std, channels first."""

    size: int
    mean: float
    std: float

    def as_dict(self) -> dict:
        return {"size": self.size, "colour": "RGB", "scale": "x / 255", "mean": self.mean, "std": self.std, "layout": "NCHW"}


def normalise(pixels_uint8_nhwc: torch.Tensor, prep: Preprocessing) -> torch.Tensor:
    x = pixels_uint8_nhwc.permute(0, 3, 1, 2).float() / 255.0
    return (x - prep.mean) / prep.std


class FaceNet(nn.Module):
    """stem (may be frozen and cached) -> top -> pooled embedding -> gender logits [B,2] and age/100 [B]."""

    def __init__(self, stem: nn.Module, top: nn.Module, embedding_size: int, prep: Preprocessing, dropout: float = 0.2):
        super().__init__()
        self.stem, self.top, self.prep = stem, top, prep
        self.dropout = nn.Dropout(dropout)
        self.gender_head = nn.Linear(embedding_size, 2)
        self.age_head = nn.Linear(embedding_size, 1)

    def heads(self, stem_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.dropout(torch.flatten(self.top(stem_features), 1))
        return self.gender_head(embedding), self.age_head(embedding).squeeze(1)

    def forward(self, normalised_images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.stem(normalised_images))


def _conv(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def build_seed_mtl() -> FaceNet:
    """Plain VGG-style CNN, ~1.2 M parameters; nothing is frozen (the seed trained from scratch)."""
    trunk = nn.Sequential(
        *_conv(3, 32, 2), *_conv(32, 32), nn.MaxPool2d(2),
        *_conv(32, 64), *_conv(64, 64), nn.MaxPool2d(2),
        *_conv(64, 128), nn.MaxPool2d(2),
        *_conv(128, 256), *_conv(256, 320),
        nn.AdaptiveAvgPool2d(1),
    )  # fmt: skip
    return FaceNet(nn.Identity(), trunk, 320, Preprocessing(INPUT_SIZE, 0.5, 0.5), dropout=0.3)


LITE0_FROZEN_BLOCKS = 11  # blocks 0-10 (stride 16, 112 channels) stay ImageNet; 11-15 + head train


def build_lite0(pretrained: bool = True, frozen_blocks: int = LITE0_FROZEN_BLOCKS) -> FaceNet:
    net = build_backbone("efficientnet_lite0", pretrained, image_size=INPUT_SIZE).trunk
    stem = LiteLower(net, frozen_blocks)
    for parameter in stem.parameters():
        parameter.requires_grad_(False)
    # The ImageNet normalisation the Lite weights were trained with: (x - 0.498) / 0.502 on [0, 1].
    return FaceNet(stem, LiteTop(net, frozen_blocks, pool=True), 1280, Preprocessing(INPUT_SIZE, 0.498, 0.502), dropout=0.2)


# Each builder takes `pretrained`: False builds the bare shape, to load a trained state dict into.
BACKBONES: dict[str, Callable[[bool], FaceNet]] = {
    "seed-mtl": lambda pretrained: build_seed_mtl(),  # the seed trained from scratch: no pretrained weights
    "lite0": lambda pretrained: build_lite0(pretrained),
}


class FaceEnsemble(nn.Module):
    """Members averaged: P(gender) is the mean of their softmaxes, returned as its log (a valid logit
    pair), and age the mean of their ages. Each member normalises its own input, so the ensemble
    itself takes RGB scaled to [0, 1] (its `prep` is the identity)."""

    def __init__(self, members: list[FaceNet]):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.prep = Preprocessing(INPUT_SIZE, 0.0, 1.0)

    def forward(self, unit_rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = [member((unit_rgb - member.prep.mean) / member.prep.std) for member in self.members]
        probabilities = torch.stack([torch.softmax(logits, dim=1) for logits, _ in outputs]).mean(dim=0)
        return torch.log(probabilities.clamp_min(1e-7)), torch.stack([age for _, age in outputs]).mean(dim=0)

    def heads(self, unit_rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self(unit_rgb)  # no frozen stem to cache: the ensemble only ever sees pixels


def build_face_model(name: str, pretrained: bool = True) -> FaceNet | FaceEnsemble:
    """A registered backbone by name, or an ensemble of them named like "seed-mtl+lite0"."""
    if "+" in name:
        return FaceEnsemble([build_face_model(member, pretrained) for member in name.split("+")])
    try:
        builder = BACKBONES[name]
    except KeyError:
        raise KeyError(f"unknown face backbone {name!r}; known: {', '.join(BACKBONES)}") from None
    return builder(pretrained)


def save_face_model(model: FaceNet, backbone: str, path: str | Path) -> None:
    torch.save({"backbone": backbone, "state_dict": model.state_dict()}, path)


def load_face_model(path: str | Path) -> tuple[FaceNet, str]:
    saved = torch.load(path, map_location="cpu", weights_only=False)
    model = build_face_model(saved["backbone"], pretrained=False)
    model.load_state_dict(saved["state_dict"])
    return model.eval(), saved["backbone"]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def stem_features(model: FaceNet, pixels: np.ndarray, batch_size: int = 128, mirror: bool = False, progress: bool = True) -> np.ndarray:
    """The frozen stem's output for uint8 NHWC pixels, as float16 (the cache the top trains on)."""
    from tqdm import tqdm

    model.stem.eval()
    chunks = []
    for start in tqdm(range(0, len(pixels), batch_size), desc="stem features" + (" (mirrored)" if mirror else ""), disable=not progress):
        batch = torch.from_numpy(np.ascontiguousarray(pixels[start : start + batch_size]))
        if mirror:
            batch = batch.flip(2)
        chunks.append(model.stem(normalise(batch, model.prep)).half().numpy())
    return np.concatenate(chunks)
