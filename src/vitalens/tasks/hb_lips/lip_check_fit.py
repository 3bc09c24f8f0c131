"""Fitting the lips model's mouth check (`vitalens.tasks.hb_lips.lip_check`) on the *tuning* half of every
body site's photos (training world: torch, scikit-learn).

For every tuning photo the colour lip finder picks its region; the region, grown by lip_check.MARGIN, is
embedded by frozen ImageNet EfficientNet-Lite0 at INPUT_SIZE px. Mouths: the regions of the lips starter set
and of face photos. Not mouths: what the finder picks in fingernail, skin and conjunctiva photos and in
synthetic images. A logistic regression on the embeddings is chosen by grouped 5-fold CV (the site's
session, person, hospital or image never split; vitalens.evaluation.site_check_fit.fit_check), then
folded into one ONNX graph: crop -> logit. Hand-made colour and texture features were tried first and
let through 80 % of the skin-lesion regions at the same mouth pass rate (benchmarks/results/lip_check.txt).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from rich.progress import track
from torch import nn

from vitalens.backbones import build_backbone
from vitalens.evaluation.site_check_fit import Examples, fit_check, out_of_fold_scores
from vitalens.evaluation.sites import SITES, site_groups, site_photos, synthetic_images
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.onnx_weights import store_weights_as_float16
from vitalens.tasks.hb_lips import TASK
from vitalens.tasks.hb_lips.lip_check import CHECK_FILE, INPUT, INPUT_SIZE, MARGIN, crop_tensor, mouth_crop
from vitalens.tasks.hb_lips.regions import find_lips

MOUTH_SITES = ("lips", "face")  # a face photo's lips are a mouth too: the width rule refuses small ones
PER_SITE = 150
MIN_WIDTH_SHARE = 1 / 2.5  # the width rule: this share of the narrowest lips in the tuning half of the lip photos
OPSET = 17


class MouthCheck(nn.Module):
    """[B, 3, S, S] in [0, 1] -> [B] logit: the frozen embedding, standardised, then the logistic weights."""

    def __init__(self, backbone: nn.Module, mean, scale, weights, bias: float):
        super().__init__()
        self.backbone = backbone
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("weights", torch.tensor(np.asarray(weights) / np.asarray(scale), dtype=torch.float32))
        self.register_buffer("bias", torch.tensor(float(bias), dtype=torch.float32))

    def forward(self, crop: torch.Tensor) -> torch.Tensor:
        return (self.backbone(crop) - self.mean) @ self.weights + self.bias


def region_examples(backbone: nn.Module) -> tuple[Examples, np.ndarray]:
    """The tuning regions' embeddings and labels, and each region's width in pixels."""
    crops, positive, groups, sites, widths = [], [], [], [], []
    images = [(site, path) for site in SITES for path in site_photos(site, "tune", PER_SITE)]
    for site, path in track(images, description="mouth check: lip regions", transient=True):
        try:
            rgb = decode_image(path).rgb
        except ImageDecodeError:
            continue
        region = find_lips(rgb).region
        if region is None:
            continue
        widths.append(int(region.box[3] - region.box[1]))
        crops.append(crop_tensor(mouth_crop(rgb, region.box)))
        positive.append(site in MOUTH_SITES)
        groups.append(f"{site}:{site_groups(site).get(path, path.name)}")
        sites.append(site)
    for seed in range(1, 9):
        for name, rgb in synthetic_images(seed=seed).items():
            if (region := find_lips(rgb).region) is not None:
                widths.append(int(region.box[3] - region.box[1]))
                crops.append(crop_tensor(mouth_crop(rgb, region.box)))
                positive.append(False)
                groups.append(f"synthetic:{name}")
                sites.append("synthetic")
    with torch.no_grad():
        embeddings = torch.cat([backbone(torch.from_numpy(np.concatenate(crops[i:i + 32]))) for i in range(0, len(crops), 32)]).numpy()
    return Examples(embeddings.astype(np.float64), np.array(positive), np.array(groups), np.array(sites)), np.array(widths)


def fit_lip_check(out: Path) -> Path:
    """Write CHECK_FILE (the ONNX graph) and lip_check.json (threshold, width rule, how both were chosen) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    backbone = build_backbone("efficientnet_lite0", pretrained=True).eval()
    examples, widths = region_examples(backbone)
    narrowest_lips = int(widths[examples.site == "lips"].min())
    min_width = int(narrowest_lips * MIN_WIDTH_SHARE)
    check = fit_check(examples, "mouth", TASK.photo_tip, features=f"frozen ImageNet EfficientNet-Lite0 at {INPUT_SIZE} px of the lip box grown by {MARGIN:.0%} per side")
    # The threshold passes 97 % of the tuning mouths out of fold and every tuning lip photo: with 13 of them,
    # passing 95 % of the lip photos (the refusal issue's floor) means passing all.
    scores = out_of_fold_scores(examples, check["chosen"]["C"])
    threshold = min(check["threshold"], float(scores[examples.site == "lips"].min()))
    answered = (scores >= threshold) & (widths >= min_width)
    by_site = {site: {"n": int((examples.site == site).sum()), "mouth_check": float((scores[examples.site == site] >= threshold).mean()),
                      "with_width_rule": float(answered[examples.site == site].mean())} for site in sorted(set(examples.site))}  # fmt: skip
    graph = MouthCheck(backbone, check.pop("mean"), check.pop("scale"), check.pop("weights"), check.pop("bias")).eval()
    path = out / CHECK_FILE
    torch.onnx.export(graph, (torch.rand(1, 3, INPUT_SIZE, INPUT_SIZE),), str(path), input_names=[INPUT], output_names=["logit"],
                      dynamic_axes={INPUT: {0: "crops"}, "logit": {0: "crops"}}, opset_version=OPSET, dynamo=False)  # fmt: skip
    store_weights_as_float16(path)
    summary = {**check, "threshold": round(threshold, 6), "input_size": INPUT_SIZE, "margin": MARGIN,
               "threshold_chosen": "the lower of: 97 % of tuning mouths pass out of fold; every tuning lip photo passes out of fold",
               "pass_rate_out_of_fold_by_site": by_site, "min_lip_width_px": min_width,
               "min_lip_width_chosen": f"{MIN_WIDTH_SHARE:.2f} x the narrowest lips found in the tuning half of the lip photos ({narrowest_lips} px)"}  # fmt: skip
    (out / "lip_check.json").write_text(json.dumps(summary, indent=2))
    return path
