// twin: none (a picture of what vitalens/interpretation.py interpret_interval returns)
// The Hb estimate as a picture: a 0-20 g/dL scale coloured by the WHO 2024 bands for this person's cut-offs
// (shifted back to measured Hb when an altitude or smoking adjustment applies), the 90 % interval as a bar,
// the estimate as a tick, and the bands the interval spans named under it. Returns SVG markup.
import { escapeHtml } from './html.js';

const MAX = 20;
const WIDTH = 400;
const COLOURS = { severe: '#e57373', moderate: '#ffb74d', mild: '#fff176', none: '#a5d6a7' };

export function hbScaleSvg(interpretation, hb, low, high) {
  const shift = interpretation.measured_hb_g_dl - interpretation.adjusted_hb_g_dl; // edges on the measured scale
  const edges = interpretation.band_edges_g_dl;
  const cuts = [0, edges.severe_below + shift, edges.moderate_below + shift, edges.mild_below + shift, MAX];
  const x = (value) => (Math.min(Math.max(value, 0), MAX) / MAX) * WIDTH;
  const bands = ['severe', 'moderate', 'mild', 'none'].map((band, i) => `<rect x="${x(cuts[i])}" y="22" width="${x(cuts[i + 1]) - x(cuts[i])}" height="24"
    fill="${COLOURS[band]}"><title>${band}: ${cuts[i].toFixed(1)}–${cuts[i + 1].toFixed(1)} g/dL</title></rect>`).join('');
  const ticks = [0, 5, 10, 15, 20].map((v) => `<text x="${x(v)}" y="66" font-size="13" text-anchor="${v === MAX ? 'end' : 'middle'}">${v}${v === MAX ? ' g/dL' : ''}</text>`).join('');
  const spans = interpretation.interval_bands.join(' · ');
  return `<svg class="hb-scale" viewBox="-14 0 ${WIDTH + 28} 112" width="100%" role="img"
      aria-label="Hb ${hb.toFixed(1)} g/dL, 90 % interval ${low.toFixed(1)} to ${high.toFixed(1)} g/dL, spanning ${escapeHtml(spans)}">
    ${bands}
    <rect x="${x(low)}" y="31" width="${Math.max(x(high) - x(low), 2)}" height="6" fill="#263238" opacity="0.85"/>
    <line x1="${x(hb)}" x2="${x(hb)}" y1="16" y2="52" stroke="#000" stroke-width="3"/>
    <text x="${x(hb)}" y="13" font-size="14" text-anchor="middle" font-weight="700">${hb.toFixed(1)}</text>
    ${ticks}
    <text x="${WIDTH / 2}" y="92" font-size="14" text-anchor="middle">90 % interval ${low.toFixed(1)}–${high.toFixed(1)} g/dL</text>
    <text x="${WIDTH / 2}" y="108" font-size="13" text-anchor="middle">spans: ${escapeHtml(spans)}</text>
  </svg>`;
}
