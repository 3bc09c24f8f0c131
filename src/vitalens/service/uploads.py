"""Uploaded bytes to pixels, in memory only, with the right HTTP status for every way a file can be wrong.

Pillow identifies the format from the file's content (never its name or declared type), which is the
content sniffing; the image header gives the pixel count before any pixel is decoded.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from vitalens.imaging import ACCEPTED_FORMATS, FORMATS_HINT, DecodedImage, ImageDecodeError, decode_image
from vitalens.service.errors import RequestRejected
from vitalens.service.limits import ServiceLimits


def decode_upload(data: bytes, filename: str, limits: ServiceLimits) -> DecodedImage:
    if not data:
        raise RequestRejected(400, f"{filename}: file is empty (0 bytes); attach the photo again.")
    if len(data) > limits.max_upload_bytes:
        raise RequestRejected(413, f"{filename}: {len(data):,} bytes exceeds the limit of {limits.max_upload_bytes:,}; send a smaller photo.")
    image_format, (width, height) = _sniff(data, filename)
    if width * height > limits.max_pixels:
        raise RequestRejected(
            413, f"{filename}: {width}x{height} = {width * height:,} pixels exceeds the limit of {limits.max_pixels:,}; "
            "resize the photo (a 12 MP phone photo is fine)."
        )
    try:
        return decode_image(data, name=filename, max_pixels=limits.max_pixels)
    except ImageDecodeError as error:  # 415 not a photo format, 413 too large, 422 corrupt or incomplete
        raise RequestRejected(error.status, str(error)) from None


def _sniff(data: bytes, filename: str) -> tuple[str, tuple[int, int]]:
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:  # reads the header only
            image_format, size = image.format or "unknown", image.size
    except Image.DecompressionBombError:
        raise RequestRejected(413, f"{filename}: far too many pixels to decode safely; resize the photo (a 12 MP phone photo is fine).") from None
    except UnidentifiedImageError:
        raise RequestRejected(415, f"{filename}: not a photo ({FORMATS_HINT}).") from None
    except Exception as error:  # noqa: BLE001 - a header a decoder chokes on is the file's fault: 422, never 500
        raise RequestRejected(422, f"{filename}: the image header is corrupt ({type(error).__name__}); re-export or re-copy the photo.") from None
    return image_format, size
