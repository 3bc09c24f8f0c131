"""A small anchor-free nail/skin detector (CenterNet-style) on a truncated EfficientNet-Lite0 trunk.

Training world (torch). The trunk stops at stride 16 (blocks 0-10, 112 channels): the full Lite0
exports at ~13 MB in float32, over the 12 MB budget, and nails (~20 px on the 320 input) need no
deeper context. A stride-8 tap is fused in (a two-level FPN) so the heatmap is 40 x 40: nails sit
~40 px apart on the input, which a 20 x 20 grid would blur together.

Outputs, both in the ONNX graph:
  heatmap   N x 2 x H x W, sigmoid class scores (nail, skin) per cell;
  box_maps  N x 4 x H x W, (centre_y, centre_x, height, width) in input pixels per cell.
`vitalens.tasks.hb_nails.detection.decode_detections` turns them into boxes (numpy, shared by all runtimes).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from vitalens.backbones import build_backbone
from vitalens.tasks.hb_nails.detection import DETECTOR_CLASSES, DETECTOR_INPUT_SIZE

TRUNK_STRIDE8_BLOCK = 4  # last block with 40 channels at stride 8
TRUNK_LAST_BLOCK = 10  # last block with 112 channels at stride 16
OUTPUT_STRIDE = 8
_HEATMAP_PRIOR = 0.01  # initial score, so focal loss starts stable (RetinaNet/CenterNet practice)


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class NailDetector(nn.Module):
    def __init__(self, pretrained: bool = True, width: int = 64, classes: tuple[str, ...] = DETECTOR_CLASSES):
        super().__init__()
        lite0 = build_backbone("efficientnet_lite0", pretrained).trunk
        self.classes = tuple(classes)
        self.stem = nn.Sequential(lite0._conv_stem, lite0._bn0, lite0._swish)
        self.blocks = nn.ModuleList(lite0._blocks[: TRUNK_LAST_BLOCK + 1])
        self.lateral8 = _conv_bn_relu(lite0._blocks[TRUNK_STRIDE8_BLOCK]._bn2.num_features, width)
        self.lateral16 = _conv_bn_relu(lite0._blocks[TRUNK_LAST_BLOCK]._bn2.num_features, width)
        self.fuse = _conv_bn_relu(width, width, kernel=3)
        self.heatmap_head = nn.Sequential(_conv_bn_relu(width, width, 3), nn.Conv2d(width, len(classes), 1))
        self.box_head = nn.Sequential(_conv_bn_relu(width, width, 3), nn.Conv2d(width, 4, 1))
        nn.init.constant_(self.heatmap_head[-1].bias, -math.log((1 - _HEATMAP_PRIOR) / _HEATMAP_PRIOR))

    def raw(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Heatmap logits and raw box regressions (offset_y, offset_x in cells; log height, log width in cells)."""
        x = self.stem(x)
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index == TRUNK_STRIDE8_BLOCK:
                stride8 = x
        top = nn.functional.interpolate(self.lateral16(x), scale_factor=2.0, mode="nearest")
        features = self.fuse(self.lateral8(stride8) + top)
        return self.heatmap_head(features), self.box_head(features)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, regression = self.raw(x)
        return torch.sigmoid(logits), regression_to_boxes(regression)


def regression_to_boxes(regression: torch.Tensor) -> torch.Tensor:
    """Raw regressions -> (centre_y, centre_x, height, width) in input pixels for each cell."""
    _, _, height, width = regression.shape
    grid_y = torch.arange(height, dtype=regression.dtype, device=regression.device).view(1, height, 1)
    grid_x = torch.arange(width, dtype=regression.dtype, device=regression.device).view(1, 1, width)
    centre_y = (grid_y + 0.5 + regression[:, 0]) * OUTPUT_STRIDE
    centre_x = (grid_x + 0.5 + regression[:, 1]) * OUTPUT_STRIDE
    size = torch.exp(regression[:, 2:4].clamp(max=6.0)) * OUTPUT_STRIDE
    return torch.cat([centre_y.unsqueeze(1), centre_x.unsqueeze(1), size], dim=1)


def export_detector_onnx(model: NailDetector, path: str | Path, opset: int = 17) -> Path:
    """Float32 ONNX with a fixed 1 x 3 x 320 x 320 input `image` and outputs `heatmap`, `box_maps`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    dummy = torch.zeros(1, 3, DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["image"],
        output_names=["heatmap", "box_maps"],
        opset_version=opset,
        dynamo=False,
    )
    return path
