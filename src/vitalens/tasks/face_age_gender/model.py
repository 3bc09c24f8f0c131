"""Face age + gender: one shared trunk, a 2-logit gender head and an age head.

Backbones are registered by name. `seed-mtl` reconstructs the seed system's published shape (a
~1.2 M-parameter plain CNN on 112x112 crops, trained from scratch, age regressed as age/100) so its
figures can be compared on our split. `lite0` is ImageNet EfficientNet-Lite0 from the offline weight
package with a frozen lower half whose outputs are cached (plain and mirrored), so CPU epochs take
seconds. `lite0-ft` fine-tunes all of Lite0 but its first block from augmented pixels and predicts
age as a distribution over whole years (DLDL: Gao et al., "Age estimation using expectation of label
distribution learning", IJCAI 2018); its age is the distribution's expectation.
"""

from __future__ import annotations

import json
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch import nn

from vitalens.backbones import LiteLower, LiteTop, build_backbone

INPUT_SIZE = 112
AGE_SCALE = 100.0  # the age head predicts age / 100, as the seed contract does
AGE_BINS = 121  # whole years 0-120 for distribution heads (UTKFace's oldest is 116)


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


class FaceOutputs(NamedTuple):
    gender_logits: torch.Tensor  # [B, 2] (male, female)
    age_scaled: torch.Tensor  # [B] age / 100
    age_logits: torch.Tensor | None  # [B, AGE_BINS] for distribution heads, else None


class FaceNet(nn.Module):
    """stem (may be frozen and cached) -> top -> pooled embedding -> gender logits [B,2] and age/100 [B].

    With `age_bins`, the age head scores whole years 0..age_bins-1 and the age is the softmax's
    expectation; without, it regresses age/100 directly (the seed's head). `cache_stem` says whether
    training may feed the frozen stem's cached outputs (no pixel augmentation) or must run from pixels."""

    def __init__(self, stem: nn.Module, top: nn.Module, embedding_size: int, prep: Preprocessing, dropout: float = 0.2,
                 age_bins: int = 0, cache_stem: bool = True):  # fmt: skip
        super().__init__()
        self.stem, self.top, self.prep, self.cache_stem = stem, top, prep, cache_stem
        self.dropout = nn.Dropout(dropout)
        self.gender_head = nn.Linear(embedding_size, 2)
        self.age_head = nn.Linear(embedding_size, age_bins or 1)
        self.register_buffer("age_years", torch.arange(age_bins, dtype=torch.float32) if age_bins else None)

    def outputs(self, stem_features: torch.Tensor) -> FaceOutputs:
        embedding = self.dropout(torch.flatten(self.top(stem_features), 1))
        age = self.age_head(embedding)
        if self.age_years is None:
            return FaceOutputs(self.gender_head(embedding), age.squeeze(1), None)
        expected_years = torch.softmax(age, dim=1) @ self.age_years
        return FaceOutputs(self.gender_head(embedding), expected_years / AGE_SCALE, age)

    def heads(self, stem_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.outputs(stem_features)[:2]

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
LITE0_FINE_TUNE_FROZEN_BLOCKS = 1  # only the stem and block 0 (56x56 maps, the costliest to back-propagate)


def build_lite0(pretrained: bool = True, frozen_blocks: int = LITE0_FROZEN_BLOCKS, age_bins: int = 0, cache_stem: bool = True) -> FaceNet:
    net = build_backbone("efficientnet_lite0", pretrained, image_size=INPUT_SIZE).trunk
    stem = LiteLower(net, frozen_blocks)
    for parameter in stem.parameters():
        parameter.requires_grad_(False)
    # The ImageNet normalisation the Lite weights were trained with: (x - 0.498) / 0.502 on [0, 1].
    return FaceNet(stem, LiteTop(net, frozen_blocks, pool=True), 1280, Preprocessing(INPUT_SIZE, 0.498, 0.502), dropout=0.2,
                   age_bins=age_bins, cache_stem=cache_stem)  # fmt: skip


# Each builder takes `pretrained`: False builds the bare shape, to load a trained state dict into.
BACKBONES: dict[str, Callable[[bool], FaceNet]] = {
    "seed-mtl": lambda pretrained: build_seed_mtl(),  # the seed trained from scratch: no pretrained weights
    "lite0": lambda pretrained: build_lite0(pretrained),
    "lite0-ft": lambda pretrained: build_lite0(pretrained, LITE0_FINE_TUNE_FROZEN_BLOCKS, AGE_BINS, cache_stem=False),
}


# What each registered backbone is, in the words the model card uses.
BACKBONE_DESCRIPTIONS: dict[str, str] = {
    "seed-mtl": "the seed system's plain CNN trained from scratch, age regressed as age/100",
    "lite0": "ImageNet EfficientNet-Lite0 with blocks 0-10 frozen and the rest fine-tuned on cached features, age regressed as age/100",
    "lite0-ft": "ImageNet EfficientNet-Lite0 fine-tuned from block 1 on augmented crops, age the expectation of a 0-120-year distribution (DLDL)",
}
MIRROR_SUFFIX = ":mirror"


def describe_face_model(name: str) -> str:
    """The model card's sentence for a backbone name (written into bundle.json at export)."""
    members = name.removesuffix(MIRROR_SUFFIX).split("+")
    described = "; ".join(f"`{m}`: {BACKBONE_DESCRIPTIONS[m]}" for m in members)
    sentence = (f"an ensemble of {len(members)} networks ({described}), each with a gender head and an age head; their gender "
                "probabilities and ages are averaged" if len(members) > 1 else f"one network with a gender head and an age head ({described})")  # fmt: skip
    if name.endswith(MIRROR_SUFFIX):
        sentence += "; the graph also runs the mirrored face and averages the two predictions (test-time augmentation)"
    return sentence


class FaceEnsemble(nn.Module):
    """Members averaged: P(gender) is the mean of their softmaxes, returned as its log (a valid logit
    pair), and age the mean of their ages. With `mirror`, each member also sees the mirrored image
    (test-time augmentation). Each member normalises its own input, so the ensemble itself takes RGB
    scaled to [0, 1] (its `prep` is the identity)."""

    def __init__(self, members: list[FaceNet], mirror: bool = False):
        super().__init__()
        self.members, self.mirror = nn.ModuleList(members), mirror
        self.prep = Preprocessing(INPUT_SIZE, 0.0, 1.0)
        self.stem = nn.Identity()  # no frozen stem to cache: the ensemble only ever sees pixels

    def forward(self, unit_rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        views = [unit_rgb, unit_rgb.flip(3)] if self.mirror else [unit_rgb]
        outputs = [member((view - member.prep.mean) / member.prep.std) for member in self.members for view in views]
        probabilities = torch.stack([torch.softmax(logits, dim=1) for logits, _ in outputs]).mean(dim=0)
        return torch.log(probabilities.clamp_min(1e-7)), torch.stack([age for _, age in outputs]).mean(dim=0)

    def outputs(self, unit_rgb: torch.Tensor) -> FaceOutputs:
        return FaceOutputs(*self(unit_rgb), None)


def build_face_model(name: str, pretrained: bool = True) -> FaceNet | FaceEnsemble:
    """A registered backbone by name; an ensemble of them named like "seed-mtl+lite0"; either with
    ":mirror" appended to average over the image and its mirror."""
    if name.endswith(MIRROR_SUFFIX):
        members = name.removesuffix(MIRROR_SUFFIX).split("+")
        return FaceEnsemble([build_face_model(member, pretrained) for member in members], mirror=True)
    if "+" in name:
        return FaceEnsemble([build_face_model(member, pretrained) for member in name.split("+")])
    try:
        builder = BACKBONES[name]
    except KeyError:
        raise KeyError(f"unknown face backbone {name!r}; known: {', '.join(BACKBONES)}") from None
    return builder(pretrained)


def save_face_model(model: FaceNet | FaceEnsemble, backbone: str, path: str | Path) -> None:
    """The weights as a bare state dict in `path` (model.pt) and the architecture, the backbone's name,
    as JSON beside it (model.json): both load without unpickling any Python object."""
    path = Path(path)
    torch.save(model.state_dict(), path)
    path.with_suffix(".json").write_text(json.dumps({"backbone": backbone}, indent=2))


def load_face_model(path: str | Path) -> tuple[FaceNet | FaceEnsemble, str]:
    """What save_face_model wrote. torch reads the weights with weights_only=True, so a model.pt
    holding anything but tensors (an older vitalens's file, or someone's pickle) is refused unread."""
    path = Path(path)
    retrain = "re-train with this vitalens (`vitalens train`)"
    try:
        with warnings.catch_warnings():  # torch warns about a plain pickle's protocol before refusing it
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError):
        state = None
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise ValueError(f"{path}: not a weights-only state dict (vitalens never unpickles a model, which could run code); {retrain}.")
    described = path.with_suffix(".json")
    try:
        backbone = json.loads(described.read_text())["backbone"]
        model = build_face_model(backbone, pretrained=False)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise ValueError(f"{described}: missing or not the architecture of {path.name} (a backbone name); {retrain}.") from None
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise ValueError(f"{path}: its weights do not fit the {backbone} architecture named in {described.name}; {retrain}.") from None
    return model.eval(), backbone


@torch.no_grad()
def stem_features(model: FaceNet, pixels: np.ndarray, batch_size: int = 128, mirror: bool = False, progress: bool = True) -> np.ndarray:
    """The frozen stem's output for uint8 NHWC pixels, as float16 (the cache the top trains on)."""
    from rich.progress import track

    model.stem.eval()
    chunks = []
    for start in track(range(0, len(pixels), batch_size), "stem features" + (" (mirrored)" if mirror else ""), disable=not progress):
        batch = torch.from_numpy(np.ascontiguousarray(pixels[start : start + batch_size]))
        if mirror:
            batch = batch.flip(2)
        chunks.append(model.stem(normalise(batch, model.prep)).half().numpy())
    return np.concatenate(chunks)
