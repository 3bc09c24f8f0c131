"""The depth-probe skin model: frozen ImageNet trunks, pooled outputs of several depths, orientation
views, one linear diagnosis head and one linear lighting head.

Why this and not only fine-tuning: on ~2.4k training photos every CPU-feasible fine-tuning schedule
stayed within ~4 points of a linear probe on the last layer of a frozen trunk, while pooling a few
intermediate blocks as well (texture and colour statistics the last layer has abstracted away), training
on mirrored and rotated copies, averaging those views at prediction and averaging several trunks each
added points on the validation split (`benchmarks/skin_feature_probe.py`).

Each trunk's head is linear on its pooled features, so each member's Grad-CAM is exact and gradient-free:
each depth's map sum_k w_ck A_k(i, j) is average-pooled onto the head's grid (input / 32; exact pooling
keeps its spatial mean) and the depths are summed; the maps of all trunks and views (turned back to the
photo's orientation) are averaged, as their probabilities are.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler
from torch import nn

from vitalens.backbones import LITE_MEAN, LITE_STD, build_backbone
from vitalens.tasks.skin_condition.fitting import SkinTrainingConfig, fit_logistic_head, unit_batch
from vitalens.tasks.skin_condition.typicality import Typicality

VIEWS = ("identity", "hflip", "vflip", "rot180")
_FLIP_DIMS = {"identity": (), "hflip": (3,), "vflip": (2,), "rot180": (2, 3)}


def orient(images: torch.Tensor, view: str) -> torch.Tensor:
    """The photo (or a map over it) in one of VIEWS; each view is its own inverse."""
    dims = _FLIP_DIMS[view]
    return images.flip(dims) if dims else images


def _every(step: int, start_divisor: int):
    """Every `step`-th layer from 1/start_divisor of the way in, plus the last block and the head convolution."""
    return lambda n_blocks: sorted(set(range((n_blocks + 1) // start_divisor, n_blocks + 1, step)) | {n_blocks - 1, n_blocks})


# Which layers' pooled outputs feed the heads, by name: indices into [block 0, ..., last block, head
# convolution (index n_blocks)]. "all_from_first_third" scored best out-of-fold on the regrouped split among
# these five (benchmarks/skin_feature_probe.py --cv 5); "every_third_from_middle", the first split's choice,
# also defines the features that link near-copies before splitting (split.LINK_DEPTH_RULE).
DEPTH_RULES = {
    "every_third_from_middle": _every(3, 2),
    "every_second_from_middle": _every(2, 2),
    "every_third_from_first_quarter": _every(3, 4),
    "all_from_middle": _every(1, 2),
    "all_from_first_third": _every(1, 3),
}
DEFAULT_DEPTH_RULE = SkinTrainingConfig.probe_depth_rule


def probe_depths(n_blocks: int, rule: str = DEFAULT_DEPTH_RULE) -> list[int]:
    """The layers a trunk of `n_blocks` blocks feeds to the heads under one of DEPTH_RULES."""
    if rule not in DEPTH_RULES:
        raise ValueError(f"unknown depth rule {rule!r}; choose one of {sorted(DEPTH_RULES)}")
    return DEPTH_RULES[rule](n_blocks)


class DepthTrunk(nn.Module):
    """A frozen EfficientNet-Lite trunk → its feature maps at `probe_depths` (block outputs, then the head convolution)."""

    def __init__(self, backbone: str, input_size: int, pretrained: bool = True, depth_rule: str = DEFAULT_DEPTH_RULE):
        super().__init__()
        trunk = build_backbone(backbone, pretrained=pretrained, image_size=input_size).trunk
        self.stem, self.bn0 = trunk._conv_stem, trunk._bn0
        self.blocks = nn.ModuleList(trunk._blocks)
        self.conv_head, self.bn1 = trunk._conv_head, trunk._bn1
        self.depths = probe_depths(len(self.blocks), depth_rule)
        widths = [block._bn2.num_features for block in self.blocks] + [self.bn1.num_features]
        self.widths = [widths[d] for d in self.depths]
        self.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = nn.functional.relu6(self.bn0(self.stem((images - LITE_MEAN) / LITE_STD)))
        maps = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in self.depths:
                maps.append(x)
        maps.append(nn.functional.relu6(self.bn1(self.conv_head(x))))
        return maps


class SkinProbe(nn.Module):
    """[B, 3, S, S] RGB in [0, 1] → diagnosis log-probabilities [B, C], lighting logit [B], Grad-CAM [B, C, h, w].

    Each trunk has its own linear diagnosis head on its standardised pooled features; the answer is the mean
    of the softmax over trunks and views (returned as its log, so softmax(output / T) calibrates it)."""

    HEAT_MAP = "mean over trunks and views of each member's exact Grad-CAM (linear head on the pooled maps of several depths), ReLU after the mean"

    def __init__(self, n_classes: int, backbones: tuple[str, ...] = ("efficientnet_lite0",), input_size: int = 192,
                 views: tuple[str, ...] = VIEWS, pretrained: bool = True, depth_rule: str = DEFAULT_DEPTH_RULE):  # fmt: skip
        super().__init__()
        self.backbones, self.input_size, self.views, self.depth_rule = tuple(backbones), input_size, tuple(views), depth_rule
        if input_size % 32:
            raise ValueError(f"input_size {input_size}: the depth probe needs a multiple of 32, so every depth's map pools exactly onto the head's grid")
        self.cam_side = input_size // 32
        self.trunks = nn.ModuleList(DepthTrunk(name, input_size, pretrained, depth_rule) for name in backbones)
        widths = [sum(t.widths) for t in self.trunks]
        edges = np.cumsum([0] + widths)
        self.columns = [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
        self.register_buffer("feature_mean", torch.zeros(int(edges[-1])))
        self.register_buffer("feature_std", torch.ones(int(edges[-1])))
        self.diagnosis_heads = nn.ModuleList(nn.Linear(width, n_classes) for width in widths)
        self.lighting_head = nn.Linear(int(edges[-1]), 1)
        self.typicality = Typicality(int(edges[-1]))  # on the view-averaged pooled features, like the lighting head

    def pooled_views(self, images: torch.Tensor) -> torch.Tensor:
        """[V, B, D]: the pooled features of every view (the rows the heads are fitted on)."""
        return torch.stack([torch.cat([m.mean(dim=(2, 3)) for t in self.trunks for m in t(orient(images, v))], dim=1) for v in self.views])

    def heads(self, pooled_views: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[V, B, D] pooled features → (log of the mean probability over trunks and views [B, C], lighting logit [B])."""
        standard = (pooled_views - self.feature_mean) / self.feature_std
        probabilities = [torch.softmax(head(standard[..., columns]), dim=-1) for head, columns in zip(self.diagnosis_heads, self.columns)]
        mean = torch.stack(probabilities).mean(dim=(0, 1))
        return torch.log(mean.clamp_min(1e-12)), self.lighting_logit(pooled_views.mean(dim=0))

    def lighting_logit(self, pooled: torch.Tensor) -> torch.Tensor:
        """[B, D] view-averaged pooled features → lighting logit [B]."""
        return self.lighting_head((pooled - self.feature_mean) / self.feature_std).squeeze(1)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.pooled_views(images))

    def explain(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(diagnosis log-probabilities, lighting logit, Grad-CAM per class scaled to [0, 1], typicality score):
        the maps are the mean over trunks and views of each member's exact class activation map, turned back
        to the photo's orientation."""
        pooled, maps = [], []
        for view in self.views:
            per_trunk = [trunk(orient(images, view)) for trunk in self.trunks]
            pooled.append(torch.cat([m.mean(dim=(2, 3)) for trunk_maps in per_trunk for m in trunk_maps], dim=1))
            for trunk_maps, head, columns in zip(per_trunk, self.diagnosis_heads, self.columns):
                maps.append(orient(self._class_maps(trunk_maps, head.weight / self.feature_std[columns]), view))
        pooled = torch.stack(pooled)
        logits, lighting = self.heads(pooled)
        cam = torch.relu(torch.stack(maps).mean(dim=0))
        return logits, lighting, cam / (cam.amax(dim=(2, 3), keepdim=True) + 1e-6), self.typicality(pooled.mean(dim=0))

    def _class_maps(self, depth_maps: list[torch.Tensor], weight: torch.Tensor) -> torch.Tensor:
        """sum over depths of sum_k w_ck A_k(i, j), each pooled onto the head's grid: [B, C, S/32, S/32]."""
        cam, start = 0.0, 0
        for feature_map in depth_maps:
            width = feature_map.shape[1]
            per_depth = torch.einsum("ck,bkhw->bchw", weight[:, start : start + width], feature_map)
            factor = int(feature_map.shape[-1]) // self.cam_side  # a constant when traced: the input size is fixed
            cam = cam + (nn.functional.avg_pool2d(per_depth, factor) if factor > 1 else per_depth)
            start += width
        return cam

    def config(self) -> dict:
        return {"kind": "probe", "n_classes": self.diagnosis_heads[0].out_features, "backbones": list(self.backbones),
                "input_size": self.input_size, "views": list(self.views), "depth_rule": self.depth_rule}  # fmt: skip

    def describe(self) -> dict:
        return {"architecture": "depth probe", "backbones": list(self.backbones), "views": list(self.views), "depth_rule": self.depth_rule,
                "depths": {name: t.depths for name, t in zip(self.backbones, self.trunks)}, "averaging": "softmax probabilities, over trunks and views",
                "trainable": "linear heads only (trunks frozen at ImageNet weights)"}  # fmt: skip


@torch.no_grad()
def probe_features(model: SkinProbe, pixels: np.ndarray, batch_size: int = 32, progress=None) -> np.ndarray:
    """[V, N, D] float32 pooled features of uint8 NHWC pixels in every view."""
    model.eval()
    chunks = []
    for start in range(0, len(pixels), batch_size):
        chunks.append(model.pooled_views(unit_batch(pixels[start : start + batch_size])).numpy())
        if progress:
            progress(min(start + batch_size, len(pixels)), len(pixels))
    return np.concatenate(chunks, axis=1)


def fit_probe_heads(model: SkinProbe, features: np.ndarray, labels: np.ndarray, c: float) -> None:
    """One class-weighted logistic regression per trunk, fitted on every view's rows of [V, N, D] features."""
    rows = features.reshape(-1, features.shape[-1])
    means, stds = [], []
    for head, columns in zip(model.diagnosis_heads, model.columns):
        scaler = StandardScaler().fit(rows[:, columns])
        fit_logistic_head(head, scaler.transform(rows[:, columns]), np.tile(labels, features.shape[0]), c, max_iter=1000)
        means.append(scaler.mean_)
        stds.append(scaler.scale_)
    with torch.no_grad():
        model.feature_mean.copy_(torch.from_numpy(np.concatenate(means)).float())
        model.feature_std.copy_(torch.from_numpy(np.concatenate(stds)).float())


def fit_probe_lighting(model: SkinProbe, pooled: np.ndarray, good: np.ndarray, c: float = 0.05) -> None:
    """Lighting head: balanced logistic regression on the standardised view-averaged features."""
    fit_logistic_head(model.lighting_head, (pooled - model.feature_mean.numpy()) / model.feature_std.numpy(), good, c, max_iter=1000)


@torch.no_grad()
def probe_outputs(model: SkinProbe, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(diagnosis log-probabilities, lighting logits) from cached [V, N, D] features."""
    logits, lighting = model.heads(torch.from_numpy(features).float())
    return logits.numpy(), lighting.numpy()


def out_of_fold_logits(model: SkinProbe, features: np.ndarray, labels: np.ndarray, folds, c: float) -> np.ndarray:
    """[N, C] diagnosis log-probabilities of every photo some fold scores (NaN elsewhere), each from heads
    fitted (on a copy of `model`) only to that fold's training photos; `folds` yields (train, scored) indices."""
    scores = np.full((features.shape[1], model.diagnosis_heads[0].out_features), np.nan, dtype=np.float32)
    for train, scored in folds:
        fold_model = copy.deepcopy(model)
        fit_probe_heads(fold_model, features[:, train], labels[train], c)
        scores[scored] = probe_outputs(fold_model, features[:, scored])[0]
    return scores
