// twin: vitalens/imaging.py
// Pixels from a file or a video frame, upright (EXIF orientation applied, as vitalens.imaging does) and
// without colour management, so a PNG's pixels reach the pipeline exactly as Pillow reads them.
import { fromRGBA } from './image.js';

export const MAX_PIXELS = 40_000_000; // vitalens.imaging.MAX_PIXELS

function pixelsOf(source, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(source, 0, 0);
  return fromRGBA(width, height, context.getImageData(0, 0, width, height).data);
}

export async function imageFromFile(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image', colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error(`${file.name}: not a readable image (use a JPEG, PNG, WebP or a photo your browser can open).`);
  }
  if (bitmap.width * bitmap.height > MAX_PIXELS) {
    throw new Error(`${file.name}: ${bitmap.width}x${bitmap.height} pixels exceeds the limit of ${MAX_PIXELS.toLocaleString()}; resize the photo.`);
  }
  const image = pixelsOf(bitmap, bitmap.width, bitmap.height);
  return { image, bitmap };
}

export function imageFromVideo(video) {
  return pixelsOf(video, video.videoWidth, video.videoHeight);
}
