"""Camera and capture fields of a photo, as the columns of the lips seed's `meta.csv`.

Serving-safe (numpy and Pillow, no torch). Every field comes from the photo's EXIF (also inside
HEIC) or from the photo itself; what neither tells is `unknown`, never a guess. Bucket edges:

- `iso_bucket`: low <= 200 < medium <= 800 < high (EXIF ISOSpeedRatings).
- `exposure_bucket`: short <= 1/125 s < normal <= 1/30 s < long (EXIF ExposureTime; long means a
  risk of motion blur on a hand-held phone).
- `wb_bucket`: auto / manual (EXIF WhiteBalance 0 / 1). Phones almost always write auto.
- `ambient_light`: the scene's light level as EV at ISO 100, from EXIF BrightnessValue (APEX Bv + 5)
  or else from aperture, shutter time and ISO (log2(N^2 / t) - log2(ISO / 100)):
  dim < 5 <= indoor < 10 <= daylight. A metered level, so a dark subject reads a little dimmer.
- `camera_type`: front / back from the lens description (EXIF LensModel, e.g. "iPhone 15 Pro Max
  front TrueDepth camera"); unknown when the phone does not write one.
- `device_id`: brand and model as a slug: the device *type*. EXIF serial numbers are rarely
  written and identify a person's phone, so they are not used.
- `distance_band`: how much of the frame the lips fill (lip-box width / image width), a proxy for
  distance since phones do not record subject distance: close-up >= 0.5 > mid >= 0.15 > far.
  Needs a found lip region.
- `skin_tone_proxy`: the seed's column name, kept so its meta.csv stays compatible. vitalens fills it
  with its own measurement: the ITA° category (`vitalens.colour.ita_category`, Del Bino et al. 2006)
  of the skin around the lips. Everywhere else in vitalens that measurement is called
  `skin_tone_ita` (the angle, degrees) and `skin_tone_group` (its category), as for the nails; only
  this one column keeps the seed's name. An uncalibrated phone photo under unknown light, so a proxy
  for auditing, not a skin-type measurement. Needs a lip region with a skin reference.
- `age_band`, `gender`: not in a lip photo's metadata: always unknown here.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from vitalens.colour import ita_category, skin_ita
from vitalens.imaging import ImageDecodeError, exif_metadata
from vitalens.tasks.hb_lips.lip_colour import skin_pixels
from vitalens.tasks.hb_lips.regions import LipRegion

UNKNOWN = "unknown"
META_COLUMNS = (
    "image_id",
    "device_id",
    "device_brand",
    "device_model",
    "camera_type",
    "iso_bucket",
    "exposure_bucket",
    "wb_bucket",
    "ambient_light",
    "distance_band",
    "skin_tone_proxy",
    "age_band",
    "gender",
)
ISO_EDGES = ((200, "low"), (800, "medium"), (math.inf, "high"))
EXPOSURE_EDGES_S = ((1 / 125, "short"), (1 / 30, "normal"), (math.inf, "long"))
LIGHT_EDGES_EV100 = ((5.0, "dim"), (10.0, "indoor"), (math.inf, "daylight"))
FRAMING_EDGES = ((0.15, "far"), (0.5, "mid"), (math.inf, "close-up"))
APEX_SV_ISO100 = 5.0  # log2(100 / 3.125): Bv + 5 = EV at ISO 100
MIN_SKIN_PIXELS = 50


def camera_fields(metadata: dict[str, Any]) -> dict[str, str]:
    """The EXIF-derived `meta.csv` columns from `DecodedImage.metadata`."""
    brand = _brand(metadata.get("device_brand"))
    model = _text(metadata.get("device_model"))
    return {
        "device_id": _slug(f"{brand} {model}") if UNKNOWN not in (brand, model) else UNKNOWN,
        "device_brand": brand,
        "device_model": model,
        "camera_type": camera_type(metadata.get("lens_model")),
        "iso_bucket": _bucket(_number(metadata.get("iso")), ISO_EDGES),
        "exposure_bucket": _bucket(_number(metadata.get("exposure_time_s")), EXPOSURE_EDGES_S),
        "wb_bucket": {0: "auto", 1: "manual"}.get(_integer(metadata.get("white_balance")), UNKNOWN),
        "ambient_light": _bucket(scene_ev100(metadata), LIGHT_EDGES_EV100),
    }


def region_fields(rgb: np.ndarray, region: LipRegion | None) -> dict[str, str]:
    """`distance_band` and `skin_tone_proxy` (the seed's name for vitalens's `skin_tone_group`) from a
    found lip region (unknown without one)."""
    if region is None:
        return {"distance_band": UNKNOWN, "skin_tone_proxy": UNKNOWN}
    ymin, xmin, ymax, xmax = region.box
    framing = _bucket((xmax - xmin) / rgb.shape[1], FRAMING_EDGES)
    return {"distance_band": framing, "skin_tone_proxy": skin_tone_group(skin_tone_ita(rgb, region))}


def skin_tone_ita(rgb: np.ndarray, region: LipRegion | None) -> float | None:
    """ITA° of the skin around the lips; None without a lip region, a skin reference or enough skin."""
    if region is None or region.skin_box is None:
        return None
    pixels = skin_pixels(rgb, region.box, region.skin_box)
    return skin_ita(pixels) if len(pixels) >= MIN_SKIN_PIXELS else None


def skin_tone_group(ita: float | None) -> str:
    return ita_category(ita) if ita is not None else UNKNOWN


def meta_row(image_id: str, metadata: dict[str, Any], rgb: np.ndarray | None = None, region: LipRegion | None = None) -> dict[str, str]:
    """One `meta.csv` row: camera fields, region fields when pixels are given, unknown demographics."""
    row = {"image_id": image_id, **camera_fields(metadata)}
    row.update(region_fields(rgb, region) if rgb is not None else {"distance_band": UNKNOWN, "skin_tone_proxy": UNKNOWN})
    row.update({"age_band": UNKNOWN, "gender": UNKNOWN})
    return {column: row[column] for column in META_COLUMNS}


def read_camera_metadata(path: str | Path) -> dict[str, str]:
    """Camera fields of an image file from its EXIF alone, without decoding the pixels."""
    try:
        with Image.open(path) as image:
            return camera_fields(exif_metadata(image))
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ImageDecodeError(f"{path}: not a readable image ({error}); check the file is a photo.") from None


def camera_type(lens_model: Any) -> str:
    text = _text(lens_model).lower()
    if "front" in text:
        return "front"
    if "back" in text or "rear" in text:
        return "back"
    return UNKNOWN


def scene_ev100(metadata: dict[str, Any]) -> float | None:
    brightness = _number(metadata.get("brightness_ev"))
    if brightness is not None:
        return brightness + APEX_SV_ISO100
    f_number, seconds, iso = (_number(metadata.get(k)) for k in ("f_number", "exposure_time_s", "iso"))
    if not (f_number and seconds and iso) or min(f_number, seconds, iso) <= 0:
        return None
    return math.log2(f_number**2 / seconds) - math.log2(iso / 100.0)


def _bucket(value: float | None, edges: tuple[tuple[float, str], ...]) -> str:
    if value is None or not math.isfinite(value):
        return UNKNOWN
    return next(name for upper, name in edges if value <= upper)


def _number(value: Any) -> float | None:
    if isinstance(value, list):  # some cameras write a list (e.g. several ISO values); the first is the shot's
        value = value[0] if value else None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def _text(value: Any) -> str:
    text = str(value).strip() if value not in (None, "") else ""
    return text or UNKNOWN


def _brand(value: Any) -> str:
    # "SAMSUNG" and "samsung" are one brand; mixed-case names ("HMD Global", "Apple") stay as written.
    text = _text(value)
    return text.title() if text != UNKNOWN and (text.isupper() or text.islower()) else text


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
