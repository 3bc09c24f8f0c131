"""A skin-condition bundle for the app and service tests, made by the real exporter from a network with
ImageNet features and untrained heads, so those tests never depend on the shipped weights (which may not
be in the checkout) while the answers still depend on the pixels (an all-random network answers the same
for every photo, which would hide a wrong crop).

Its metrics are placeholders that fill the manifest and card fields the runtime reads; they were not
measured and the bundle is never shipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIXTURE_LABELS = ["acne vulgaris", "basal cell carcinoma", "eczema", "keloid", "melanoma", "psoriasis"]
FIXTURE_PARTITIONS = {"acne vulgaris": "non-neoplastic", "basal cell carcinoma": "malignant", "eczema": "non-neoplastic",
                      "keloid": "benign", "melanoma": "malignant", "psoriasis": "non-neoplastic"}  # fmt: skip
FIXTURE_SIZE = 128  # a 4 x 4 heat map
FIXTURE_TEMPERATURE = 1.3
FIXTURE_LIGHTING_THRESHOLD = 0.5


def _placeholder_report() -> dict:
    score = lambda v: {"value": v, "ci": [v / 2, min(1.0, v * 1.5)]}  # noqa: E731
    metrics = lambda top1: {k: score(top1) for k in ("top1", "top3", "macro_f1", "macro_recall", "three_partition_accuracy")}  # noqa: E731
    group = {"n": 10, "top1": 0.2, "top1_ci_low": 0.1, "top1_ci_high": 0.3, "top3": 0.5, "worst": False}
    return {
        "split": "fixture (untrained network, no evaluation)", "n_test": 10,
        "comparison": {"shipped (fixture)": metrics(0.2), "majority class (train)": metrics(0.1), "frozen Lite0 + logistic": metrics(0.15)},
        "calibration": {"ece_before": 0.1, "ece_after": 0.05, "temperature": FIXTURE_TEMPERATURE},
        "lighting": {"accuracy": 0.5, "balanced_accuracy": 0.5, "auc": 0.5, "average_precision_poor": 0.5, "majority_accuracy": 0.5},
        "audit": {"fitzpatrick_group": {"I-II": group}, "ita_group": {"light": group}},
        "data": {"photos": 0, "skipped": 0, "near_duplicate_groups": 0, "split_sizes": {}},
        "ita_vs_fitzpatrick": {"spearman_rho_type_vs_ita": 0.0, "group_agreement": 0.0},
        "fitzpatrick_top1_gap": {"best": "I-II", "worst": "I-II", "gap": 0.0, "ci": [0.0, 0.0]},
        "top1_over_frozen_baseline": {"difference": 0.05, "ci": [0.0, 0.1]},
    }  # fmt: skip


def _fit_lighting_and_typicality(model) -> None:
    """A logistic lighting head on synthetic photos, well lit and darkened, labelled by the lighting rules,
    so that the fixture says "poor" (and the app shows a tip) for a dark photo; the typicality check on
    the same photos, its reference on as many others."""
    from vitalens.tasks.skin_condition.probe import fit_probe_lighting
    from vitalens.tasks.skin_condition.typicality import fit_typicality
    from vitalens.tasks.skin_condition.lighting import lighting_label

    crops, pooled = _synthetic_views(model, range(6))
    fit_probe_lighting(model, pooled, np.array([lighting_label(c) for c in crops]), c=1.0)
    fit_typicality(model.typicality, pooled, _synthetic_views(model, range(6, 12))[1])


def _synthetic_views(model, seeds) -> tuple[list[np.ndarray], np.ndarray]:
    """Synthetic skin photos of several sizes and shapes at three exposures, centre-cropped as the runtime
    does, and their view-averaged pooled features."""
    import torch

    from test_skin import skin_photo
    from vitalens.regions.centre_crop import CROP_FRACTION, centre_crop_resized

    photos = []
    for seed in seeds:
        side, kept = 240 + 20 * (seed % 5), 0.8 + 0.05 * (seed % 4)
        photo = skin_photo(side, seed=seed)
        photo = photo[:, : int(side * kept)] if seed % 2 else photo[: int(side * kept)]  # portrait and landscape
        photos += [np.clip(photo * gain, 0, 255).astype(np.uint8) for gain in (1.0, 0.12, 0.25)]
    crops = [centre_crop_resized(photo, FIXTURE_SIZE, CROP_FRACTION) for photo in photos]
    with torch.no_grad():
        pixels = torch.from_numpy(np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32) / 255)
        return crops, model.pooled_views(pixels).mean(dim=0).numpy()


def build_fixture_skin_bundle(folder: Path) -> Path:
    """The shipped kind of model, a depth probe on EfficientNet-Lite0 (offline ImageNet weights, four views), with a
    seeded random diagnosis head and a lighting head and typicality check fitted on a few synthetic photos,
    exported as a bundle."""
    import torch

    from vitalens.tasks.skin_condition.export import export_skin_onnx, write_skin_bundle
    from vitalens.tasks.skin_condition.probe import SkinProbe

    torch.manual_seed(0)
    model = SkinProbe(len(FIXTURE_LABELS), ("efficientnet_lite0",), FIXTURE_SIZE).eval()
    with torch.no_grad():  # spread-out biases keep the six probabilities well apart, so the top-3 order is stable
        model.diagnosis_heads[0].bias.copy_(torch.from_numpy(np.linspace(-1.0, 1.0, len(FIXTURE_LABELS), dtype=np.float32)))
    _fit_lighting_and_typicality(model)
    exported = export_skin_onnx(model, FIXTURE_TEMPERATURE, Path(folder).parent / f"{Path(folder).name}-graph.onnx")
    return write_skin_bundle(model, exported, FIXTURE_LABELS, FIXTURE_PARTITIONS, FIXTURE_TEMPERATURE, FIXTURE_LIGHTING_THRESHOLD,
                             _placeholder_report(), folder)  # fmt: skip
