"""A contact sheet of found lip boxes, so a person can judge the region finder photo by photo.

Green: the lip box; blue: the skin-reference box; a red cross: no lips found (the reason is printed
under the tile). The sheet shows the photos themselves: keep it out of the repository when they carry
no license.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vitalens.data.samples import Dataset
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.tasks.hb_lips.regions import LipFinding, find_lips

TILE = 400
CAPTION = 34


def contact_sheet(dataset: Dataset, out_png: str | Path, columns: int = 5) -> list[tuple[str, LipFinding]]:
    """Draw the lip finder's boxes on every photo of `dataset` into one PNG; returns what it found."""
    tiles, findings = [], []
    for sample in dataset.samples:
        try:
            rgb = decode_image(sample.image_path).rgb
        except ImageDecodeError as error:
            finding = LipFinding(None, str(error))
            rgb = np.zeros((TILE, TILE, 3), np.uint8)
        else:
            finding = find_lips(rgb)
        findings.append((sample.image_id, finding))
        tiles.append(_tile(rgb, sample.image_id, finding))
    rows = max(1, -(-len(tiles) // columns))
    sheet = Image.new("RGB", (columns * TILE, rows * (TILE + CAPTION)), "white")
    for index, tile in enumerate(tiles):
        sheet.paste(tile, ((index % columns) * TILE, (index // columns) * (TILE + CAPTION)))
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out_png)
    return findings


def _tile(rgb: np.ndarray, name: str, finding: LipFinding) -> Image.Image:
    image = Image.fromarray(rgb)
    scale = TILE / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    draw = ImageDraw.Draw(image)
    region = finding.region
    if region is None:
        draw.line([(0, 0), image.size], fill="red", width=3)
        draw.line([(0, image.height), (image.width, 0)], fill="red", width=3)
        note = finding.reason[:60]
    else:
        if region.skin_box:
            draw.rectangle(_xy(region.skin_box, scale), outline=(40, 120, 255), width=2)
        draw.rectangle(_xy(region.box, scale), outline=(0, 230, 0), width=3)
        note = f"{region.method} conf {region.confidence:.2f}"
    tile = Image.new("RGB", (TILE, TILE + CAPTION), "white")
    tile.paste(image, ((TILE - image.width) // 2, 0))
    caption = ImageDraw.Draw(tile)
    caption.text((3, TILE + 2), name[:52], fill="black")
    caption.text((3, TILE + 17), note, fill="black")
    return tile


def _xy(box: tuple[int, int, int, int], scale: float) -> list[float]:
    ymin, xmin, ymax, xmax = box
    return [xmin * scale, ymin * scale, xmax * scale - 1, ymax * scale - 1]
