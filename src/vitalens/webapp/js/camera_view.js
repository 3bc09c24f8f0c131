// twin: none (drawing the camera mode's preview and its per-frame plot)
// Camera mode's pictures: a framing guide and each frame's detected nails over the live preview, and after
// the capture a dot plot of every frame's estimate (IQR outliers and refused frames marked) with the median
// and its interval. Boxes are (ymin, xmin, ymax, xmax) in the frame's pixels, as a Prediction's nails.
import { escapeHtml } from './html.js';

// where the card and three fingertips should sit, as fractions of the frame (centre 70 % x 50 %)
const GUIDE = { x: 0.15, y: 0.25, width: 0.7, height: 0.5 };

export function drawPreview(canvas, video, result) {
  const width = video.clientWidth, height = video.clientHeight;
  if (!width || !height) return;
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  context.clearRect(0, 0, width, height);
  const ok = result?.status === 'ok';
  context.lineWidth = 3;
  context.setLineDash([10, 6]);
  context.strokeStyle = ok ? '#00e676' : result ? '#ff5252' : '#ffffff';
  context.strokeRect(GUIDE.x * width, GUIDE.y * height, GUIDE.width * width, GUIDE.height * height);
  context.setLineDash([]);
  context.font = 'bold 14px system-ui, sans-serif';
  context.fillStyle = 'rgba(0,0,0,.6)';
  const text = result && !ok ? `not usable: ${(result.reasons || []).join('; ')}` : 'white card and three fingertips inside the frame';
  context.fillRect(0, 0, Math.min(width, context.measureText(text).width + 12), 22);
  context.fillStyle = '#fff';
  context.fillText(text, 6, 16);
  if (!ok) return;
  const scale = width / video.videoWidth;
  context.strokeStyle = '#00e5ff';
  for (const nail of result.nails) {
    const [y0, x0, y1, x1] = nail.box.map((v) => v * scale);
    context.strokeRect(x0, y0, x1 - x0, y1 - y0);
  }
}

// nails with their boxes scaled, for drawing on a smaller copy of the frame
export function scaledNails(nails, factor) {
  return nails.map((nail) => ({ ...nail, box: nail.box.map((v) => v * factor), skin_box: nail.skin_box.map((v) => v * factor) }));
}

// results: every frame's Prediction in order; inlier: per estimated frame, kept by the IQR rule
export function frameDotPlotSvg(results, inlier, hb, low, high) {
  const W = 400, H = 150, left = 34, top = 10, bottom = 120;
  const values = results.filter((r) => r.status === 'ok').map((r) => r.predicted_hgb);
  const lo = Math.floor(Math.min(low, ...values) - 0.5), hi = Math.ceil(Math.max(high, ...values) + 0.5);
  const x = (i) => left + ((i + 0.5) / results.length) * (W - left - 6);
  const y = (v) => top + ((hi - v) / (hi - lo)) * (bottom - top);
  let k = 0;
  const dots = results.map((r, i) => {
    if (r.status !== 'ok') return `<text x="${x(i)}" y="${bottom + 14}" font-size="12" text-anchor="middle" fill="#9e9e9e">×<title>frame ${i + 1}: refused</title></text>`;
    const kept = inlier[k++];
    return `<circle cx="${x(i)}" cy="${y(r.predicted_hgb)}" r="4" fill="${kept ? '#1565c0' : 'none'}" stroke="${kept ? '#1565c0' : '#d32f2f'}" stroke-width="2">
      <title>frame ${i + 1}: ${r.predicted_hgb.toFixed(1)} g/dL${kept ? '' : ' (IQR outlier, not used)'}</title></circle>`;
  }).join('');
  const axis = [lo, (lo + hi) / 2, hi].map((v) => `<text x="${left - 4}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v.toFixed(0)}</text>`).join('');
  return `<svg class="frame-plot" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${escapeHtml(`per-frame estimates, median ${hb.toFixed(1)} g/dL`)}">
    <rect x="${left}" y="${y(high)}" width="${W - left - 6}" height="${y(low) - y(high)}" fill="#bbdefb" opacity="0.6"/>
    <line x1="${left}" x2="${W - 6}" y1="${y(hb)}" y2="${y(hb)}" stroke="#0d47a1" stroke-width="2"/>
    ${axis}${dots}
    <text x="${left}" y="${H - 2}" font-size="10">● used ○ IQR outlier × refused · line: median · band: 90 % interval</text>
  </svg>`;
}
