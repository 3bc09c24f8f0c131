// The photo with each nail's box, its skin box and its own estimate drawn over it.
export function drawNails(canvas, bitmap, nails) {
  const scale = Math.min(1, 720 / bitmap.width);
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  context.lineWidth = 2;
  context.font = 'bold 14px system-ui, sans-serif';
  for (const nail of nails) {
    const [y0, x0, y1, x1] = nail.box.map((v) => v * scale);
    const [sy0, sx0, sy1, sx1] = nail.skin_box.map((v) => v * scale);
    context.setLineDash([4, 3]);
    context.strokeStyle = '#ffd54f';
    context.strokeRect(sx0, sy0, sx1 - sx0, sy1 - sy0);
    context.setLineDash([]);
    context.strokeStyle = '#00e5ff';
    context.strokeRect(x0, y0, x1 - x0, y1 - y0);
    const label = `${nail.hb.toFixed(1)} g/dL`;
    context.fillStyle = 'rgba(0,0,0,.65)';
    context.fillRect(x0, Math.max(0, y0 - 18), context.measureText(label).width + 6, 18);
    context.fillStyle = '#fff';
    context.fillText(label, x0 + 3, Math.max(13, y0 - 4));
  }
  canvas.hidden = false;
}
