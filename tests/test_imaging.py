import io

import numpy as np
import pytest
from PIL import Image

from vitalens.imaging import ImageDecodeError, decode_image, list_images


def _png_bytes(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_exif_orientation_is_applied():
    wide = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    decoded = decode_image(_png_bytes(wide, "JPEG", exif=exif.tobytes()))
    assert decoded.rgb.shape == (40, 20, 3)


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "LA"])
def test_every_mode_becomes_rgb(mode):
    image = Image.new("RGB", (16, 12), (120, 60, 30)).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    decoded = decode_image(_png_bytes(image, fmt))
    assert decoded.rgb.shape == (12, 16, 3) and decoded.rgb.dtype == np.uint8


def test_sixteen_bit_is_scaled_not_clipped():
    values = np.full((8, 8), 65535 // 2, dtype=np.uint16)
    decoded = decode_image(_png_bytes(Image.fromarray(values)))
    assert 120 <= decoded.rgb[0, 0, 0] <= 135


def test_transparent_pixels_become_white():
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert decode_image(_png_bytes(image)).rgb.min() == 255


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "empty"),
        (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a readable image|corrupt"),
    ],
)
def test_bad_files_get_clear_errors(payload, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(payload, name="upload.bin")


def test_truncated_jpeg_is_reported_with_its_name(tmp_path):
    data = _png_bytes(Image.new("RGB", (64, 64), (1, 2, 3)), "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageDecodeError, match="cut.jpg"):
        decode_image(path)


def test_decompression_bomb_is_refused_before_decoding():
    big = _png_bytes(Image.new("L", (3000, 3000)))
    with pytest.raises(ImageDecodeError, match="exceeds the limit"):
        decode_image(big, max_pixels=1_000_000)


def test_missing_file(tmp_path):
    with pytest.raises(ImageDecodeError, match="no such file"):
        decode_image(tmp_path / "nope.jpg")


def test_real_heic_samples_decode_with_iphone_metadata(heic_dir):
    files = list_images(heic_dir)
    assert len(files) == 3
    for path in files:
        decoded = decode_image(path)
        assert decoded.rgb.ndim == 3 and decoded.rgb.shape[2] == 3
        assert "iPhone" in decoded.metadata.get("device_model", "")
        assert decoded.metadata.get("device_brand") == "Apple"
