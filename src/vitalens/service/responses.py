"""Per-task shaping of predictions into the API's JSON: one entry per image, plus, for several photos
of one person, the IQR-then-median aggregate (vitalens.aggregate). Serving world: no torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from vitalens.aggregate import aggregate_estimates
from vitalens.data.samples import Sample
from vitalens.imaging import DecodedImage
from vitalens.interpretation import interpret_estimate, interpret_hb
from vitalens.service.errors import RequestRejected

Images = list[tuple[str, DecodedImage]]


def _image_fields(filename: str, image: DecodedImage) -> dict[str, Any]:
    return {"filename": filename, "width": image.width, "height": image.height, "format": image.format}


def hb_nails(predictor, images: Images, population: dict[str, Any]) -> dict[str, Any]:
    _check_population(population)
    results = []
    for filename, image in images:
        result = predictor.predict(image.rgb, image_id=filename, **population).to_dict()
        result["quality"] = {"ok": result["status"] == "ok", "reasons": result["reasons"], "tips": result["tips"]}
        results.append({**_image_fields(filename, image), **result})
    return {"results": results, "aggregate": _hb_aggregate(predictor.half_width, results, population) if len(results) > 1 else None}


def hb_lips(predictor, images: Images, population: dict[str, Any]) -> dict[str, Any]:
    """The lip model's predictions.csv row per photo, plus the fields every Hb answer has (hb, interval, interpretation)."""
    _check_population(population)
    results = []
    for filename, image in images:
        row = predictor.predict(image.rgb, image_id=filename, **population)
        ok = row["status"] == "ok"
        hb = float(row["predicted_hgb"]) if ok else None
        results.append({**_image_fields(filename, image), **row, "hb": hb,
                        "interval": [row["interval_low"], row["interval_high"]] if ok else None,
                        "interpretation": interpret_estimate(hb, **population).to_dict() if ok else None})
    return {"results": results, "aggregate": _hb_aggregate(predictor.half_width, results, population) if len(results) > 1 else None}


def _check_population(population: dict[str, Any]) -> None:
    """Refuse impossible demographics before any inference (interpret_hb names the field and the fix)."""
    try:
        interpret_hb(12.0, **population)
    except ValueError as error:
        raise RequestRejected(422, str(error)) from None


def _hb_aggregate(half_width: float, results: list[dict], population: dict[str, Any]) -> dict[str, Any] | None:
    estimated = [i for i, r in enumerate(results) if r["status"] == "ok"]
    if not estimated:
        return None
    summary = aggregate_estimates([results[i]["hb"] for i in estimated])
    hb = summary.estimate
    return {
        "method": "iqr-then-median",
        "hb": hb,
        "interval": [hb - half_width, hb + half_width],
        "n_images": len(results),
        "n_refused": len(results) - len(estimated),
        "n_used": summary.n_used,
        "n_rejected": summary.n_rejected,
        "rejected_images": [results[estimated[i]]["filename"] for i in summary.rejected],
        "interpretation": interpret_estimate(hb, **population).to_dict(),
    }


def face_age_gender(predictor, images: Images, _population: dict[str, Any]) -> dict[str, Any]:
    results = []
    for filename, image in images:
        row = predictor.predict_sample(Sample(Path(filename), filename, ""), image.rgb)
        status = "refused" if row["problem"] else "ok"
        results.append({**_image_fields(filename, image), "status": status, **row})
    return {"results": results, "aggregate": None}


HEATMAP_DECIMALS = 3


def skin_condition(predictor, images: Images, _population: dict[str, Any]) -> dict[str, Any]:
    """Per photo: the top-3 conditions with calibrated probabilities, the lighting verdict and tip, and the
    top label's Grad-CAM map over the centre crop (h x w, rounded; upsample it bilinearly onto the crop)."""
    results = []
    for filename, image in images:
        result = predictor.predict(image.rgb, image_id=filename)
        heatmap = result.pop("heatmap")
        results.append({**_image_fields(filename, image), "status": "ok", **result,
                        "heatmap": {"label": result["top"][0]["label"], "over": "centre crop (see the bundle's inputs.image.preprocessing)",
                                    "values": np.round(heatmap.astype(float), HEATMAP_DECIMALS).tolist()}})
    return {"results": results, "aggregate": None}


RESPONDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "hb-nails": hb_nails,
    "face-age-gender": face_age_gender,
    "hb-lips": hb_lips,
    "skin-condition": skin_condition,
}
