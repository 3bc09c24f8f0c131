"""Decoder and service robustness: a mutation corpus regenerated from the example photos, decoded one by
one, and (with --service) posted to the API. Prints the outcome tables.

    python benchmarks/robustness.py [--per-seed 300] [--service 400] [--seed 0]

Outcomes: decoded (an RGB array came back), clean refusal (ImageDecodeError), other exception (a bug:
the input and the exception are listed), memory (peak traced allocation per input, largest shown).
The service run counts HTTP statuses: any 500 is a bug. It also measures the peak memory of one
request of 10 x 16-bit PNG at 39.7 MP.
"""

from __future__ import annotations

import argparse
import warnings
import io
import random
import sys
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from vitalens.imaging import ImageDecodeError, decode_image

REPO = Path(__file__).resolve().parents[1]
SEEDS = sorted((REPO / "examples" / "nails").glob("*.png"))[:2] + sorted((REPO / "examples" / "faces").glob("*.jpg"))
HEIC_SAMPLES = REPO.parent / "shared" / "data" / "heic-samples"


def _encodings(path: Path) -> list[bytes]:
    """One photo in every accepted format and a few odd modes and sizes."""
    image = Image.open(path).convert("RGB")
    image.thumbnail((320, 320))
    out = []
    for fmt, mode in [("JPEG", "RGB"), ("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("PNG", "L"), ("PNG", "I;16"), ("WEBP", "RGB"),
                      ("TIFF", "RGB"), ("TIFF", "CMYK"), ("TIFF", "F"), ("BMP", "RGB"), ("HEIF", "RGB")]:  # fmt: skip
        converted = image.convert("L").convert(mode) if mode in ("I;16", "F") else image.convert(mode)
        buffer = io.BytesIO()
        exif = Image.Exif()
        exif[0x0112], exif[0x010F] = 6, "Acme"
        kwargs = {"exif": exif.tobytes()} if fmt in ("JPEG", "PNG", "WEBP") else {}
        converted.save(buffer, fmt, **kwargs)
        out.append(buffer.getvalue())
    return out


def _disguised() -> list[bytes]:
    """Other formats under a photo's name: each must be a clean refusal."""
    small = Image.new("RGB", (24, 24), (120, 30, 30))
    out = []
    for fmt in ("GIF", "ICO", "PPM", "PCX", "TGA", "PDF"):
        buffer = io.BytesIO()
        small.save(buffer, fmt)
        out.append(buffer.getvalue())
    out += [b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"", b"\0" * 64]
    return out


def mutations(data: bytes, rng: random.Random, count: int) -> list[bytes]:
    out = []
    for i in range(count):
        kind = i % 5
        if kind == 0:  # bit flips
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                position = rng.randrange(len(mutated))
                mutated[position] ^= 1 << rng.randrange(8)
            out.append(bytes(mutated))
        elif kind == 1:  # truncation
            out.append(data[: rng.randrange(1, len(data))])
        elif kind == 2:  # splice a random block from elsewhere in the file
            start, length = rng.randrange(len(data)), rng.randint(1, 256)
            at = rng.randrange(len(data))
            out.append(data[:at] + data[start:start + length] + data[at:])
        elif kind == 3:  # header corruption (where EXIF and chunk tables live)
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                mutated[rng.randrange(min(len(mutated), 512))] = rng.randrange(256)
            out.append(bytes(mutated))
        else:  # overwrite a run of bytes with a repeated value
            start, length = rng.randrange(len(data)), rng.randint(1, 64)
            out.append(data[:start] + bytes([rng.randrange(256)]) * length + data[start + length:])
    return out


def build_corpus(per_seed: int, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    sources = [(f"{path.stem}.{i}", data) for path in SEEDS for i, data in enumerate(_encodings(path))]
    sources += [(p.name, p.read_bytes()) for p in sorted(HEIC_SAMPLES.glob("*.heic"))[:1]]
    corpus = [(f"disguised.{i}", d) for i, d in enumerate(_disguised())]
    for name, data in sources:
        corpus.append((name, data))
        corpus += [(f"{name}.m{j}", m) for j, m in enumerate(mutations(data, rng, per_seed))]
    return corpus


def decode_outcomes(corpus: list[tuple[str, bytes]]) -> tuple[Counter, list[str], int]:
    outcomes: Counter = Counter()
    bugs, peak = [], 0
    for name, data in corpus:
        tracemalloc.start()
        try:
            decode_image(data, name=name)
            outcomes["decoded"] += 1
        except ImageDecodeError:
            outcomes["clean refusal"] += 1
        except Exception as error:  # noqa: BLE001 - the benchmark counts exactly these
            outcomes["other exception"] += 1
            bugs.append(f"{name}: {type(error).__name__}: {error}")
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return outcomes, bugs, peak


def service_outcomes(corpus: list[tuple[str, bytes]], limit: int) -> Counter:
    from fastapi.testclient import TestClient

    from vitalens.service import create_app

    client, statuses = TestClient(create_app()), Counter()
    for name, data in corpus[:limit]:
        statuses[client.post("/v1/predict", files=[("image", (f"{name}.jpg", data, "image/jpeg"))]).status_code] += 1
    return statuses


def heavy_request_peak() -> tuple[int, int]:
    """Peak traced memory of one request holding 10 x 16-bit PNG of 39.7 MP (a 754 KiB body in the probe)."""
    from fastapi.testclient import TestClient

    from vitalens.service import create_app

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((5760, 6900), np.uint16)).save(buffer, "PNG")
    payload = buffer.getvalue()
    client = TestClient(create_app())
    tracemalloc.start()
    response = client.post("/v1/predict", files=[("image", (f"p{i}.png", payload, "image/png")) for i in range(10)])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return response.status_code, peak


def main() -> None:
    warnings.simplefilter("ignore")  # Pillow warns about every mangled TIFF tag; the outcome table is what counts
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-seed", type=int, default=80)
    parser.add_argument("--service", type=int, default=0, help="post the first N corpus inputs to the API (0: skip)")
    parser.add_argument("--heavy", action="store_true", help="measure the 10 x 39.7 MP request")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    corpus = build_corpus(args.per_seed, args.seed)
    outcomes, bugs, peak = decode_outcomes(corpus)
    print(f"decoder, {len(corpus)} inputs from {len(SEEDS)} photos (+ HEIC sample: {HEIC_SAMPLES.is_dir()})")
    print("| outcome | inputs |\n|---|---|")
    for key in ("decoded", "clean refusal", "other exception"):
        print(f"| {key} | {outcomes[key]} |")
    print(f"| largest peak traced memory of one decode | {peak / 2**20:.1f} MiB |")
    for bug in bugs[:20]:
        print("BUG", bug)
    if args.service:
        statuses = service_outcomes(corpus, args.service)
        print(f"\nservice, first {min(args.service, len(corpus))} inputs as uploads\n| HTTP status | requests |\n|---|---|")
        for status, n in sorted(statuses.items()):
            print(f"| {status} | {n} |")
    if args.heavy:
        status, heavy = heavy_request_peak()
        print(f"\n10 x 16-bit PNG of 39.7 MP in one request: HTTP {status}, peak traced memory {heavy / 2**20:.0f} MiB")
    sys.exit(1 if bugs else 0)


if __name__ == "__main__":
    main()
