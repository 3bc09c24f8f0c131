// twin: none (drawing on a canvas)
import { rgbImage } from './image.js';
import { resize } from './resample.js';

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

// The crop with a heat map over it: the map (h rows of w values, as a Prediction's heatmap.values) upsampled
// bilinearly (Pillow's resampling) to the canvas, blended in a yellow-to-red ramp whose opacity grows with
// the map's value, so cold areas stay visible.
export const HEATMAP_OPACITY = 0.6;

export function drawHeatmap(canvas, crop, heatmap, side, showMap = true) {
  canvas.width = canvas.height = side;
  const photo = resize(crop, side, side, 'bilinear');
  const grey = rgbImage(heatmap.values[0].length, heatmap.values.length);
  heatmap.values.flat().forEach((v, i) => grey.data.fill(Math.round(255 * Math.min(1, Math.max(0, v))), i * 3, i * 3 + 3));
  const map = resize(grey, side, side, 'bilinear');
  const pixels = new ImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const v = showMap ? map.data[i * 3] / 255 : 0, alpha = HEATMAP_OPACITY * v;
    const heat = [255, 255 * (1 - v), 0];
    for (let c = 0; c < 3; c++) pixels.data[i * 4 + c] = Math.round(photo.data[i * 3 + c] * (1 - alpha) + heat[c] * alpha);
    pixels.data[i * 4 + 3] = 255;
  }
  canvas.getContext('2d').putImageData(pixels, 0, 0);
  canvas.hidden = false;
}

// The photo with the detected face's box and its 5 landmarks (eyes, nose, mouth corners) drawn over it, so
// the user sees which face was read and how it was found.
export const LANDMARK_COLOURS = ['#00e5ff', '#00e5ff', '#ffd54f', '#ff5252', '#ff5252'];

export function drawFace(canvas, bitmap, face, maxWidth = 480) {
  const scale = Math.min(1, maxWidth / bitmap.width);
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  if (face) {
    const [y0, x0, y1, x1] = face.face_box.map((v) => v * scale);
    context.lineWidth = 2;
    context.strokeStyle = '#00e5ff';
    context.strokeRect(x0, y0, x1 - x0, y1 - y0);
    const radius = Math.max(2, Math.min(5, (x1 - x0) / 30));
    face.landmarks.forEach(([x, y], i) => {
      context.beginPath();
      context.arc(x * scale, y * scale, radius, 0, 2 * Math.PI);
      context.fillStyle = LANDMARK_COLOURS[i];
      context.fill();
    });
  }
  canvas.hidden = false;
}

// An RGB image (as image.js holds it) drawn at its own size: the aligned crop the face model read.
export function drawImage(canvas, image) {
  canvas.width = image.width;
  canvas.height = image.height;
  const pixels = new ImageData(image.width, image.height);
  for (let i = 0; i < image.width * image.height; i++) {
    pixels.data.set(image.data.subarray(i * 3, i * 3 + 3), i * 4);
    pixels.data[i * 4 + 3] = 255;
  }
  canvas.getContext('2d').putImageData(pixels, 0, 0);
  canvas.hidden = false;
}
