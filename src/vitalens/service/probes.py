"""Malformed requests a deployment must answer with the right 4xx while it keeps serving.

Shared by the service tests and `benchmarks/load_test.py`, so both check the same cases.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from PIL import Image

from vitalens.tasks import default_task

FIFTY_MEGAPIXELS = (8660, 5780)


@dataclass(frozen=True)
class Probe:
    name: str
    expected_status: int
    files: list[tuple[str, tuple[str, bytes, str]]] = field(default_factory=list)
    data: dict[str, str] = field(default_factory=dict)


@cache
def _fifty_megapixel_png() -> bytes:
    """A black 8660x5780 PNG: 146 kB on the wire, 150 MB once decoded (what a decompression bomb looks like)."""
    buffer = io.BytesIO()
    Image.new("RGB", FIFTY_MEGAPIXELS).save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()


def _jpeg(photo: Path) -> bytes:
    buffer = io.BytesIO()
    with Image.open(photo) as image:
        image.convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def malformed_probes(photo: Path) -> list[Probe]:
    """`photo` is any valid photo; the probes break it (or replace it) in the usual ways."""
    jpeg = _jpeg(photo)

    def image(name: str, data: bytes, mime: str) -> list:
        return [("image", (name, data, mime))]

    return [
        Probe("truncated JPEG", 422, image("truncated.jpg", jpeg[: len(jpeg) // 2], "image/jpeg")),
        Probe("zero bytes", 400, image("empty.jpg", b"", "image/jpeg")),
        Probe("PDF named .jpg", 415, image("report.jpg", b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", "image/jpeg")),
        Probe("50-megapixel PNG", 413, image("huge.png", _fifty_megapixel_png(), "image/png")),
        Probe("missing image field", 422, data={"task": default_task()}),
        Probe("unknown task", 422, image("photo.jpg", jpeg, "image/jpeg"), {"task": "no-such-task"}),
        Probe("impossible age", 422, image("photo.jpg", jpeg, "image/jpeg"), {"age_years": "-4"}),
    ]
