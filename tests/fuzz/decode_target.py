"""atheris target for vitalens.imaging.decode_image: any bytes either decode to an 8-bit RGB array or
raise ImageDecodeError; anything else (struct.error, EOFError, RuntimeError, ...) is a crash.

    python tests/fuzz/decode_target.py -runs=20000 tests/fuzz/corpus   # what the test suite runs
    python tests/fuzz/decode_target.py -max_total_time=300 tests/fuzz/corpus

Crashing inputs libFuzzer writes (crash-*) belong in tests/fuzz/regressions/, which the suite replays.
"""

import sys

import atheris

with atheris.instrument_imports():
    import numpy as np

    from vitalens.imaging import ImageDecodeError, decode_image

MAX_PIXELS = 4_000_000  # keeps each run small; the limit itself is tested elsewhere


def test_one_input(data: bytes) -> None:
    try:
        decoded = decode_image(data, name="fuzz", max_pixels=MAX_PIXELS)
    except ImageDecodeError:
        return
    rgb = decoded.rgb
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise AssertionError(f"decoded to {rgb.dtype} {rgb.shape}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
