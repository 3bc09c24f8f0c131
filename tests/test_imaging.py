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
        (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "not a photo vitalens reads"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a photo vitalens reads|corrupt"),
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


def test_a_truncated_heic_is_refused_not_painted_green(heic_dir, tmp_path):
    from vitalens.imaging import IncompleteImage

    data = next(iter(list_images(heic_dir))).read_bytes()
    for fraction in (0.5, 0.75, 0.9, 0.99):
        cut = tmp_path / f"cut_{fraction}.heic"
        cut.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(IncompleteImage, match="incomplete"):
            decode_image(cut)


@pytest.mark.parametrize("fmt", ["GIF", "ICO", "PPM", "EPS"])
def test_formats_outside_the_allow_list_are_refused_whatever_their_name(tmp_path, fmt):
    from vitalens.imaging import UnsupportedImage

    buffer = io.BytesIO()
    if fmt == "EPS":  # written by hand: Pillow's EPS writer is not needed to make the point
        buffer.write(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    else:
        Image.new("RGB", (16, 16), (200, 10, 10)).save(buffer, fmt)
    path = tmp_path / "photo.jpg"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(UnsupportedImage, match="photo.jpg: not a photo"):
        decode_image(path)


def test_corrupt_exif_loses_the_metadata_never_the_photo():
    image = Image.new("RGB", (32, 32), (120, 80, 60))
    exif = Image.Exif()
    exif[0x010F] = "Acme"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    data = bytearray(buffer.getvalue())
    start = data.find(b"Exif\x00\x00") + 6
    for offset in range(start, start + 40):  # flip every byte of the EXIF header in turn
        mutated = bytes(data[:offset]) + bytes([data[offset] ^ 0xFF]) + bytes(data[offset + 1 :])
        try:
            decoded = decode_image(mutated)
        except ImageDecodeError:
            continue  # a clean refusal is fine; any other exception fails the test
        assert decoded.rgb.shape == (32, 32, 3)


def test_sixteen_bit_images_scale_to_eight_bits():
    values = np.full((4, 4), 65535, dtype=np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, "PNG")
    assert decode_image(buffer.getvalue()).rgb.max() == 255


def test_a_large_16_bit_photo_decodes_in_bounded_memory():
    """The float64 copy of a 40 MP 16-bit image cost gigabytes; rows are now scaled a block at a time."""
    import tracemalloc

    height, width = 4000, 5000
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width), 40000, np.uint16)).save(buffer, "PNG")
    tracemalloc.start()
    decoded = decode_image(buffer.getvalue())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert decoded.rgb.dtype == np.uint8 and decoded.rgb[0, 0, 0] == int(40000 / 257)  # scaled (65535 -> 255) and truncated, as before
    pixels = height * width
    assert peak <= pixels * (2 + 1 + 3) * 1.25  # the 16-bit input, the 8-bit grey and the RGB output, and little else
