"""What both Hb tasks answer beyond one photo: the population check and the several-photo aggregate."""

from __future__ import annotations

from typing import Any

from vitalens.aggregate import aggregate_estimates
from vitalens.interpretation import interpret_estimate, interpret_hb
from vitalens.results import Prediction


def validate_population(population: dict[str, Any]) -> None:
    """Refuse impossible demographics before any inference (interpret_hb names the field and the fix)."""
    interpret_hb(12.0, **population)


def hb_aggregate(half_width: float, predictions: list[Prediction], population: dict[str, Any]) -> dict[str, Any] | None:
    """Several photos of one person: IQR-then-median over the estimated photos, the refusals counted."""
    if len(predictions) < 2:
        return None
    estimated = [p for p in predictions if p.ok]
    if not estimated:
        return None
    summary = aggregate_estimates([p.columns["predicted_hgb"] for p in estimated])
    hb = summary.estimate
    return {
        "method": "iqr-then-median",
        "hb": hb,
        "interval": [max(0.0, hb - half_width), hb + half_width],
        "n_images": len(predictions),
        "n_refused": len(predictions) - len(estimated),
        "n_used": summary.n_used,
        "n_rejected": summary.n_rejected,
        "rejected_images": [estimated[i].image_id for i in summary.rejected],
        "interpretation": interpret_estimate(hb, **population).to_dict(),
    }
