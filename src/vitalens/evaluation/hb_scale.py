"""The Hb estimate as a picture, for report.html: the same SVG as the browser's (webapp/js/hb_scale.js), a
0-20 g/dL scale coloured by the WHO 2024 bands for the person's cut-offs, the 90 % interval as a bar and
the estimate as a tick, with the bands the interval spans named under it.

`interval_scale_figure` draws it for three example estimates with the run's own calibrated intervals, so a
reviewer sees how wide an answer is against the bands before reading any table.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from vitalens.interpretation import interpret_interval
from vitalens.uncertainty import interval_around

MAX, WIDTH = 20.0, 400.0
COLOURS = {"severe": "#e57373", "moderate": "#ffb74d", "mild": "#fff176", "none": "#a5d6a7"}
EXAMPLES_G_DL = (8.0, 11.0, 13.5)  # one estimate in the moderate band, one at the usual cut-off, one above it


def _x(value: float) -> float:
    return min(max(value, 0.0), MAX) / MAX * WIDTH


def hb_scale_svg(interpretation: dict[str, Any], hb: float, low: float, high: float, y0: float = 0.0) -> str:
    """The twin of hbScaleSvg (hb_scale.js), as a <g> shifted down by `y0`."""
    shift = interpretation["measured_hb_g_dl"] - interpretation["adjusted_hb_g_dl"]
    edges = interpretation["band_edges_g_dl"]
    cuts = [0.0, edges["severe_below"] + shift, edges["moderate_below"] + shift, edges["mild_below"] + shift, MAX]
    bands = "".join(f'<rect x="{_x(cuts[i]):.1f}" y="22" width="{_x(cuts[i + 1]) - _x(cuts[i]):.1f}" height="24" fill="{COLOURS[band]}">'
                    f"<title>{band}: {cuts[i]:.1f}–{cuts[i + 1]:.1f} g/dL</title></rect>" for i, band in enumerate(COLOURS))  # fmt: skip
    ticks = "".join(f'<text x="{_x(v):.1f}" y="66" font-size="13" text-anchor="{"end" if v == MAX else "middle"}">{v:g}{" g/dL" if v == MAX else ""}</text>'
                    for v in (0.0, 5.0, 10.0, 15.0, MAX))  # fmt: skip
    spans = html.escape(" · ".join(interpretation["interval_bands"]))
    return (f'<g transform="translate(0 {y0:g})">{bands}'
            f'<rect x="{_x(low):.1f}" y="31" width="{max(_x(high) - _x(low), 2):.1f}" height="6" fill="#263238" opacity="0.85"/>'
            f'<line x1="{_x(hb):.1f}" x2="{_x(hb):.1f}" y1="16" y2="52" stroke="#000" stroke-width="3"/>'
            f'<text x="{_x(hb):.1f}" y="13" font-size="14" text-anchor="middle" font-weight="700">{hb:.1f}</text>{ticks}'
            f'<text x="{WIDTH / 2:g}" y="92" font-size="14" text-anchor="middle">90 % interval {low:.1f}–{high:.1f} g/dL</text>'
            f'<text x="{WIDTH / 2:g}" y="108" font-size="13" text-anchor="middle">spans: {spans}</text></g>')  # fmt: skip


def interval_scale_figure(uncertainty: dict[str, Any], path: Path, examples: tuple[float, ...] = EXAMPLES_G_DL) -> Path:
    """Three example estimates with this run's intervals (`uncertainty`: outer_fold_coverage's block),
    for a woman of 30 (cut-off 12 g/dL), as one SVG file."""
    uncertainty = {"half_width": uncertainty.get("half_width_all"), **uncertainty}  # a split-conformal block names its one width so
    rows = []
    for k, hb in enumerate(examples):
        low, high = interval_around(hb, uncertainty)
        rows.append(hb_scale_svg(interpret_interval(hb, low, high, sex="female", age_years=30), hb, low, high, y0=k * 124))
    height = 124 * len(examples)
    path.write_text(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-14 0 {WIDTH + 28:g} {height}" width="{WIDTH + 28:g}" height="{height}" '
                    f'font-family="sans-serif" role="img" aria-label="example estimates with this run\'s 90 % intervals on the WHO bands">{"".join(rows)}</svg>\n')  # fmt: skip
    return path
