"""Nail feature extractors: colour physics, a CNN embedding, or both.

Inputs (per nail): the nail crop and its adjacent-skin crop, [N, 3, S, S] in [0, 1], the photo's
reference white [N, 3] and, for `colour_red`, the card's red mark [N, 3] (each extractor lists its
`inputs`). Dividing by the white card removes the illuminant and camera white balance; comparing the
nail bed with the skin next to it removes much of the person's skin tone and the exposure (FINDINGS:
reference normalisation carries most of the signal).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from vitalens.backbones import build_backbone
from vitalens.tasks.hb_nails.regions import RED_MARK_RELATIVE

_EPS = 1e-4
_SRGB_TO_XYZ = torch.tensor(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_D65_WHITE = torch.tensor([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Torch twin of `vitalens.colour.srgb_to_lab` (parity-tested) so it can live in the ONNX graph."""
    rgb = rgb.clamp(0.0, 1.0)
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _SRGB_TO_XYZ.T / _D65_WHITE
    delta = 6.0 / 29.0
    f = torch.where(xyz > delta**3, xyz.clamp_min(1e-12) ** (1.0 / 3.0), xyz / (3 * delta**2) + 4.0 / 29.0)
    return torch.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], dim=-1)


def _white_balanced(crops: torch.Tensor, white: torch.Tensor) -> torch.Tensor:
    return (crops.mean(dim=(2, 3)) / white).clamp(_EPS, 1.5)


class ColourFeatures(nn.Module):
    """White-balanced nail and skin colour (LAB), nail/skin optical-density contrast, exposure."""

    inputs = ("nails", "skins", "white")
    names = (
        [f"nail_{c}" for c in "Lab"]
        + [f"skin_{c}" for c in "Lab"]
        + [f"log_nail_over_skin_{c}" for c in "rgb"]
        + [f"nail_optical_density_{c}" for c in "rgb"]
        + [f"log_white_{c}" for c in "rgb"]
    )

    def forward(self, nails: torch.Tensor, skins: torch.Tensor, white: torch.Tensor) -> torch.Tensor:
        return self.describe(_white_balanced(nails, white), _white_balanced(skins, white), white)

    @staticmethod
    def describe(nail: torch.Tensor, skin: torch.Tensor, white: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                srgb_to_lab(nail),
                srgb_to_lab(skin),
                torch.log(nail) - torch.log(skin),
                -torch.log(nail),
                torch.log(white.clamp_min(_EPS)),
            ],
            dim=1,
        )


class RedCorrectedColourFeatures(ColourFeatures):
    """ColourFeatures after a per-photo tone correction anchored on the card's white and its red mark.

    White division fixes each channel's gain but not its tone curve (exposure, JPEG contrast, a white that is
    near clipping). In green and blue the red mark is dark, so it pins a second point: a per-channel power law
    through white (1) and the mark's expected colour (RED_MARK_RELATIVE) rescales optical densities into the
    card's units. Red is left as is: there the mark is nearly as bright as the white and pins nothing.
    """

    inputs = ("nails", "skins", "white", "red")

    def __init__(self):
        super().__init__()
        target = torch.log(torch.tensor(RED_MARK_RELATIVE, dtype=torch.float32))
        self.register_buffer("target_density", target)
        self.register_buffer("corrected_channels", torch.tensor([0.0, 1.0, 1.0]))

    def forward(self, nails: torch.Tensor, skins: torch.Tensor, white: torch.Tensor, red: torch.Tensor) -> torch.Tensor:
        observed = torch.log((red / white).clamp(_EPS, 1.0 - _EPS))
        # Bounded so a mis-detected mark can at most halve or double a density (the development photos span 0.90-1.16).
        exponent = (self.target_density / observed).clamp(0.5, 2.0)
        exponent = 1.0 + self.corrected_channels * (exponent - 1.0)
        return self.describe(_white_balanced(nails, white) ** exponent, _white_balanced(skins, white) ** exponent, white)


# Nail-bed pixel rule: within a nail box, glare (much brighter than the box) and the lunula and free edge
# (much whiter: less saturated) are not the capillary bed whose colour tracks Hb. z-scores within each box.
GLARE_Z = 1.0
WHITE_Z = 1.0


def nail_bed(crops: torch.Tensor) -> torch.Tensor:
    """Each crop's mean over its nail-bed pixels, [N, 3, 1, 1] (the whole crop where the rule keeps none)."""
    brightness = crops.mean(dim=1, keepdim=True)
    saturation = crops.amax(dim=1, keepdim=True) - crops.amin(dim=1, keepdim=True)

    def z(x: torch.Tensor) -> torch.Tensor:
        return (x - x.mean(dim=(2, 3), keepdim=True)) / (x.std(dim=(2, 3), keepdim=True) + _EPS)

    keep = ((z(brightness) < GLARE_Z) & (z(saturation) > -WHITE_Z)).to(crops.dtype)
    count = keep.sum(dim=(2, 3), keepdim=True)
    bed = (crops * keep).sum(dim=(2, 3), keepdim=True) / count.clamp_min(1.0)
    return torch.where(count > 0, bed, crops.mean(dim=(2, 3), keepdim=True))


class NailBedColourFeatures(RedCorrectedColourFeatures):
    """RedCorrectedColourFeatures over the nail bed only (`nail_bed`), the skin crop as it is."""

    def forward(self, nails: torch.Tensor, skins: torch.Tensor, white: torch.Tensor, red: torch.Tensor) -> torch.Tensor:
        return super().forward(nail_bed(nails), skins, white, red)


class CnnFeatures(nn.Module):
    """Frozen ImageNet embedding of the white-balanced nail crop."""

    inputs = ("nails", "skins", "white")

    def __init__(self, backbone: str = "efficientnet_lite0", input_size: int = 96, pretrained: bool = True):
        super().__init__()
        self.backbone = build_backbone(backbone, pretrained=pretrained)
        self.input_size = input_size
        self.names = [f"{backbone}_{i}" for i in range(self.backbone.embedding_size)]

    def forward(self, nails: torch.Tensor, skins: torch.Tensor, white: torch.Tensor) -> torch.Tensor:
        balanced = (nails / white[:, :, None, None]).clamp(0.0, 1.0)
        resized = nn.functional.interpolate(balanced, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return self.backbone(resized)


class HybridFeatures(nn.Module):
    """Colour physics and the CNN embedding side by side (the peer's "hybrid")."""

    inputs = ("nails", "skins", "white")

    def __init__(self, backbone: str = "efficientnet_lite0", input_size: int = 96, pretrained: bool = True):
        super().__init__()
        self.colour = ColourFeatures()
        self.cnn = CnnFeatures(backbone, input_size, pretrained)
        self.names = list(self.colour.names) + list(self.cnn.names)

    def forward(self, nails: torch.Tensor, skins: torch.Tensor, white: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.colour(nails, skins, white), self.cnn(nails, skins, white)], dim=1)


EXTRACTORS: dict[str, Callable[..., nn.Module]] = {
    "colour": lambda **_: ColourFeatures(),
    "colour_red": lambda **_: RedCorrectedColourFeatures(),
    "colour_bed": lambda **_: NailBedColourFeatures(),
    "cnn": lambda **kw: CnnFeatures(**kw),
    "hybrid": lambda **kw: HybridFeatures(**kw),
}


def build_extractor(name: str, **params) -> nn.Module:
    if name not in EXTRACTORS:
        raise KeyError(f"unknown feature extractor {name!r}; choose one of {sorted(EXTRACTORS)}")
    return EXTRACTORS[name](**params).eval()
