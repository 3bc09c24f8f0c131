"""Decode any photo a user may bring into an RGB array plus camera metadata.

One decoder for training, the CLI, the service and tests: EXIF orientation is applied, HEIC/HEIF is
read through pillow-heif, every pixel mode (grey, palette, RGBA, CMYK, 16-bit) becomes 8-bit RGB, and
images over a pixel limit are refused before they are decoded (a decompression bomb must not take
the process down). Every failure is an ImageDecodeError that names the file and what to do.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

try:  # HEIC support is a core feature, but a broken libheif must not stop JPEG users.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - pillow-heif is a core dependency
    HEIF_AVAILABLE = False

MAX_PIXELS = 40_000_000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif")
# The photo formats a phone or camera produces, by content (Pillow's format ids). Only these decoders are
# ever tried, so a document named .jpg (EPS, PDF, SVG) never reaches Ghostscript or any other decoder.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "TIFF", "BMP")  # a phone's MPO opens as JPEG
FORMATS_HINT = "send a JPEG, PNG, HEIC/HEIF, WebP, TIFF or BMP photo, not a document"

_EXIF_FIELDS = {
    "Make": "device_brand",
    "Model": "device_model",
    "LensModel": "lens_model",
    "ISOSpeedRatings": "iso",
    "ExposureTime": "exposure_time_s",
    "FNumber": "f_number",
    "FocalLength": "focal_length_mm",
    "FocalLengthIn35mmFilm": "focal_length_35mm",
    "WhiteBalance": "white_balance",
    "Flash": "flash",
    "BrightnessValue": "brightness_ev",
    "DateTimeOriginal": "taken_at",
}


class ImageDecodeError(ValueError):
    """A file that is not a usable image; the message names the file and the fix. `status` is the HTTP
    status the service answers with (subclasses: not a photo format, too large, corrupt or incomplete)."""

    status = 422


class UnsupportedImage(ImageDecodeError):
    status = 415


class ImageTooLarge(ImageDecodeError):
    status = 413


class IncompleteImage(ImageDecodeError):
    status = 422


@dataclass
class DecodedImage:
    rgb: np.ndarray  # H x W x 3, uint8, upright
    source: str
    format: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])


def decode_image(source: str | Path | bytes, name: str | None = None, max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """Decode a path or raw bytes into an upright 8-bit RGB array with EXIF metadata.

    Every failure, whatever the decoder raised, is an ImageDecodeError naming the file: a decoder's
    struct.error, EOFError or TypeError on a mutated file is as much "corrupt" as an OSError."""
    label = name or (str(source) if not isinstance(source, bytes) else "<uploaded bytes>")
    data = _read_bytes(source, label)
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            _check_pixel_count(image.size, label, max_pixels)
            image_format = image.format or "unknown"
            if image_format == "HEIF":
                _check_heif_complete(data, label)
            metadata = _safe_metadata(image)
            upright = ImageOps.exif_transpose(image)
            rgb = to_rgb_array(upright)
    except ImageDecodeError:
        raise
    except UnidentifiedImageError:
        raise UnsupportedImage(f"{label}: not a photo vitalens reads ({FORMATS_HINT}); check it is not a document or an unfinished download.") from None
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"{label}: image is too large to decode safely; resize it below {max_pixels:,} pixels.") from None
    except MemoryError:
        raise ImageTooLarge(f"{label}: not enough memory to decode this image; resize it (a 12 MP phone photo is fine).") from None
    except Exception as error:  # noqa: BLE001 - any decoder failure on a hostile file is the file's fault, not ours
        raise ImageDecodeError(f"{label}: image data is corrupt or truncated ({type(error).__name__}: {error}); re-export or re-copy the file.") from None
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ImageDecodeError(f"{label}: the image has no pixels; re-export it.")
    return DecodedImage(rgb=rgb, source=label, format=image_format, metadata=metadata)


def _safe_metadata(image: Image.Image) -> dict[str, Any]:
    """Camera metadata is a bonus: corrupt EXIF loses the metadata, never the photo."""
    try:
        return exif_metadata(image)
    except Exception:  # noqa: BLE001 - Pillow's EXIF parser raises struct.error, TypeError, ... on mutated tags
        return {}


def _check_heif_complete(data: bytes, label: str) -> None:
    """libheif paints the tiles of a truncated HEIC green and decodes it anyway, so check the container
    itself: every top-level ISO-BMFF box must end inside the file. No library exposes this check."""
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        if size == 1 and offset + 16 <= len(data):
            size = int.from_bytes(data[offset + 8:offset + 16], "big")
        elif size == 0:  # the last box runs to the end of the file
            return
        if size < 8:
            break
        offset += size
    if offset != len(data):
        raise IncompleteImage(f"{label}: the HEIC/HEIF file is incomplete (cut off at {len(data):,} bytes); copy the whole file again.")


def _read_bytes(source: str | Path | bytes, label: str) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        if not path.is_file():
            raise ImageDecodeError(f"{label}: no such file; check the path.")
        data = path.read_bytes()
    if not data:
        raise ImageDecodeError(f"{label}: file is empty (0 bytes); re-copy it.")
    return data


def _check_pixel_count(size: tuple[int, int], label: str, max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageDecodeError(
            f"{label}: {width}x{height} = {width * height:,} pixels exceeds the limit of {max_pixels:,}; "
            "resize the photo (a phone photo at 12 MP is fine)."
        )


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """Any PIL mode to H x W x 3 uint8; 16-bit and float data are scaled, not clipped."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return np.repeat(_wide_to_uint8(image)[..., None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent pixels become white, as they would on a screen, rather than black noise.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


_ROWS_AT_ONCE = 512  # rows of a 16-bit or float image scaled at a time: a 40 MP photo never exists in float


def _wide_to_uint8(image: Image.Image) -> np.ndarray:
    """16-bit and 32-bit grey to 8 bits, scaled (65535 or the data's range above 255 maps to 255), not clipped."""
    values = np.asarray(image)
    peak = 65535.0 if image.mode.startswith("I;16") or np.nanmax(values, initial=0) > 255 else 255.0
    out = np.empty(values.shape, np.uint8)
    for start in range(0, values.shape[0], _ROWS_AT_ONCE):
        block = values[start:start + _ROWS_AT_ONCE].astype(np.float32) * np.float32(255.0 / peak)
        out[start:start + _ROWS_AT_ONCE] = np.clip(np.nan_to_num(block), 0, 255)
    return out


def exif_metadata(image: Image.Image) -> dict[str, Any]:
    """Camera fields from EXIF (also inside HEIC), under vitalens' own names; absent fields are left out."""
    exif = image.getexif()
    if not exif:
        return {}
    merged: dict[int, Any] = dict(exif)
    try:
        merged.update(exif.get_ifd(ExifTags.IFD.Exif))
    except (KeyError, AttributeError):
        pass
    metadata: dict[str, Any] = {}
    for tag_id, value in merged.items():
        name = ExifTags.TAGS.get(tag_id)
        if name in _EXIF_FIELDS:
            metadata[_EXIF_FIELDS[name]] = _plain(value)
    return metadata


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip("\x00 ")
    if isinstance(value, str):
        return value.strip("\x00 ")
    if isinstance(value, tuple):
        return _plain(value[0]) if len(value) == 1 else [_plain(v) for v in value]
    try:
        return float(value) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        return str(value)


def list_images(folder: str | Path) -> list[Path]:
    """Image files in a folder (not recursive), sorted for reproducible order."""
    root = Path(folder)
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
