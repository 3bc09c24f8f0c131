"""What both Hb tasks answer beyond the model's number: the population check, the plausibility refusal,
the interval and its WHO reading, and the several-photo aggregate."""

from __future__ import annotations

from typing import Any

from vitalens.aggregate import aggregate_estimates
from vitalens.interpretation import interpret_hb, interpret_interval
from vitalens.plausibility import IMPLAUSIBLE_TIP, implausible_estimate
from vitalens.results import Prediction, refused
from vitalens.uncertainty import interval_around


def validate_population(population: dict[str, Any]) -> None:
    """Refuse impossible demographics before any inference (interpret_hb names the field and the fix)."""
    interpret_hb(12.0, **population)


def implausible(hb: float, image_id: str, how: str, **details: Any) -> Prediction | None:
    """The refusal of an estimate outside the rules' plausible Hb range (not clipped: a number there says
    the photo is not one the model can read); `how` is the task's advice for the retake."""
    reason = implausible_estimate("hb_g_dl", hb, "g/dL")
    return None if reason is None else refused(image_id, [reason], [IMPLAUSIBLE_TIP.format(how=how)], **details)


def interval(hb: float, uncertainty: float | dict[str, Any]) -> tuple[float, float]:
    """The conformal interval around `hb` (`uncertainty`: a half-width, or the bundle's uncertainty block,
    whose Mondrian bins give a low estimate its own reach below and above), its lower bound clipped at 0
    (Hb cannot be negative); the upper bound is left as it is."""
    return interval_around(hb, uncertainty)


def uncertainty_block(manifest: dict[str, Any]) -> dict[str, Any]:
    """The bundle's interval rule, checked at load (a malformed one fails there, not at the first photo)."""
    block = manifest["uncertainty"]
    if isinstance(block, dict):
        bins = len(block.get("bin_edges") or []) + (1 if block.get("bin_edges") else 0)
        for key in ("bin_half_widths", "bin_below", "bin_above"):
            if block.get(key) and len(block[key]) != max(bins, 1):
                raise ValueError(f"uncertainty: {key} needs one width per bin (len(bin_edges) + 1)")
        if block.get("bin_edges") and not (block.get("bin_half_widths") or block.get("bin_below")):
            raise ValueError("uncertainty: bin_edges without bin_half_widths or bin_below / bin_above")
    interval(12.0, block)
    return block


def hb_aggregate(uncertainty: float | dict[str, Any], predictions: list[Prediction], population: dict[str, Any]) -> dict[str, Any] | None:
    """Several photos of one person: IQR-then-median over the estimated photos, the refusals counted."""
    if len(predictions) < 2:
        return None
    estimated = [p for p in predictions if p.ok]
    if not estimated:
        return None
    summary = aggregate_estimates([p.columns["predicted_hgb"] for p in estimated])
    hb = summary.estimate
    low, high = interval(hb, uncertainty)
    return {
        "method": "iqr-then-median",
        "hb": hb,
        "interval": [low, high],
        "n_images": len(predictions),
        "n_refused": len(predictions) - len(estimated),
        "n_used": summary.n_used,
        "n_rejected": summary.n_rejected,
        "rejected_images": [estimated[i].image_id for i in summary.rejected],
        "interpretation": interpret_interval(hb, low, high, **population),
    }
