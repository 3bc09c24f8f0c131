"""Static int8 (QDQ, calibrated) quantisation of the shipped nail detector: size, latency, and what it
does to the two-stage Hb estimates on the development photos.

    python benchmarks/detector_int8.py [--data ../shared/data/yakimov2024]

Dynamic int8 breaks the colour and CNN regressors (benchmarks/speed.py); this checks whether calibrated
static quantisation holds for the detector, the bundle's largest stage. The shipped detector was trained
on all 197 photos, so the MAE here is in-sample for the detector: read the float-vs-int8 difference, not
the MAE itself. Calibration uses every 6th photo. Research software, not a medical device.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from timing import median_ms  # benchmarks/ is on sys.path when a benchmark runs
from vitalens.tasks.hb_nails.data import load_yakimov
from vitalens.imaging import decode_image
from vitalens.tasks.hb_nails.detection import DETECTOR_FILE, OnnxDetector, letterbox, to_detector_input
from vitalens.runtime import load_predictor, shipped_bundle_path

REPO = Path(__file__).resolve().parents[1]


class LetterboxedPhotos(CalibrationDataReader):
    def __init__(self, input_name: str, photos: list[np.ndarray]):
        self.feeds = iter([{input_name: to_detector_input(letterbox(rgb)[0])} for rgb in photos])

    def get_next(self):
        return next(self.feeds, None)


def quantize_detector(source: Path, target: Path, calibration: list[np.ndarray]) -> Path:
    prepared = target.with_name("prepared.onnx")
    quant_pre_process(str(source), str(prepared))
    input_name = OnnxDetector(str(source)).input_name
    quantize_static(str(prepared), str(target), LetterboxedPhotos(input_name, calibration), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)  # fmt: skip
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "yakimov2024"))
    args = parser.parse_args()
    samples = load_yakimov(args.data).samples
    photos = [decode_image(s.image_path).rgb for s in samples]
    source = shipped_bundle_path("hb-nails") / DETECTOR_FILE
    with tempfile.TemporaryDirectory() as folder:
        quantized = quantize_detector(source, Path(folder) / "detector.int8.onnx", photos[::6])
        predictor = load_predictor(task="hb-nails")
        detectors = {"float32": predictor.detector, "int8": OnnxDetector(str(quantized))}
        sizes = {"float32": source.stat().st_size, "int8": quantized.stat().st_size}
        estimates = {}
        for name, detector in detectors.items():
            predictor.detector = detector
            latency = median_ms(lambda: detector.detect(photos[0]), 20)
            results = [predictor.predict_image(rgb, s.image_path.name) for rgb, s in zip(photos, samples)]
            estimates[name] = np.array([r.columns["predicted_hgb"] if r.ok else np.nan for r in results])
            y = np.array([s.targets["hb"] for s in samples])
            ok = ~np.isnan(estimates[name])
            print(f"{name:8s} {sizes[name] / 1e6:5.2f} MB  detect {latency:6.1f} ms/photo  estimated {ok.sum()}/{len(y)}  "
                  f"two-stage MAE {np.mean(np.abs(estimates[name][ok] - y[ok])):.3f} g/dL")
    both = ~np.isnan(estimates["float32"]) & ~np.isnan(estimates["int8"])
    difference = np.abs(estimates["float32"] - estimates["int8"])[both]
    print(f"per-photo |float32 − int8| Hb: median {np.median(difference):.3f}, 95th percentile {np.percentile(difference, 95):.3f}, "
          f"max {difference.max():.3f} g/dL")


if __name__ == "__main__":
    main()
