"""MTCNN (Zhang et al. 2016) in torch, only to turn its published weights into three ONNX files once.

Training world (torch). The weights are the state dicts `pnet.pt`, `rnet.pt`, `onet.pt` inside the
facenet-pytorch 2.6.0 wheel (MIT; ported from the authors' Caffe models by davidsandberg/facenet);
the wheel is downloaded and unzipped, never installed, because its torch/torchvision pins must not
touch ours:

    python -m pip download facenet-pytorch==2.6.0 --no-deps -d /tmp/fnp && unzip -o /tmp/fnp/*.whl -d /tmp/fnp/x
    python -m vitalens.tasks.face_age_gender.detector_export /tmp/fnp/x/facenet_pytorch/data BUNDLE_DIR UTKFACE_DIR

The layer names below match those state dicts. Each exported graph takes raw RGB pixels (0-255,
float32 NCHW) and does MTCNN's (x - 127.5) / 128 itself, so the Python and browser run-times
(vitalens.regions.faces, webapp/js/face_detector.js) feed pixels as they are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image
from torch import nn

from vitalens.bundle import BUNDLE_FILE, CARD_FILE, stage_names, write_bundle
from vitalens.tasks.face_age_gender import TASK
from vitalens.tasks.face_age_gender.card import DETECTOR_SECTION, detector_section
from vitalens.tasks.face_age_gender.data import split_of
from vitalens.tasks.face_age_gender.export import COMPAT_DESCRIPTION, LIMITATION, compat_from_bundle_onnx
from vitalens.tasks.face_age_gender.regions import MAX_TILT_DEG, MAX_TURN, MIN_FACE_PX, STAGES, measure_template

# Origin and licence, recorded with each stage in bundle.json and in the model card.
WEIGHTS_ORIGIN = "MTCNN (Zhang, Zhang, Li & Qiao 2016) weights from the facenet-pytorch 2.6.0 wheel on PyPI (facenet_pytorch/data/{pnet,rnet,onet}.pt)"
WEIGHTS_LICENCE = "MIT (facenet-pytorch, Tim Esler); weights converted from the MTCNN authors' released Caffe models"
OPSET = 17  # the opset the face model uses (export.py)


class _Net(nn.Module):
    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - 127.5) * 0.0078125

    def flat(self, x: torch.Tensor) -> torch.Tensor:
        # The Caffe weights expect the (W, H, C) flattening order; the original port permutes likewise.
        return x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)


class PNet(_Net):
    """Fully convolutional 12x12 proposal net: any H, W -> box offsets [B,4,h,w] and face prob [B,2,h,w]."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1, self.pool1 = nn.Conv2d(3, 10, 3), nn.PReLU(10), nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(self.normalise(x))))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), torch.softmax(self.conv4_1(x), dim=1)


class RNet(_Net):
    """24x24 refinement net: box offsets [B,4], face prob [B,2]."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1, self.pool1 = nn.Conv2d(3, 28, 3), nn.PReLU(28), nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2, self.pool2 = nn.Conv2d(28, 48, 3), nn.PReLU(48), nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(self.normalise(x))))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu4(self.dense4(self.flat(self.prelu3(self.conv3(x)))))
        return self.dense5_2(x), torch.softmax(self.dense5_1(x), dim=1)


class ONet(_Net):
    """48x48 output net: box offsets [B,4], 5 landmarks [B,10] (5 x then 5 y, box-relative), face prob [B,2]."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1, self.pool1 = nn.Conv2d(3, 32, 3), nn.PReLU(32), nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2, self.pool2 = nn.Conv2d(32, 64, 3), nn.PReLU(64), nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3, self.pool3 = nn.Conv2d(64, 64, 3), nn.PReLU(64), nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.dense6_2, self.dense6_3 = nn.Linear(256, 2), nn.Linear(256, 4), nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(self.normalise(x))))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu5(self.dense5(self.flat(self.prelu4(self.conv4(x)))))
        return self.dense6_2(x), self.dense6_3(x), torch.softmax(self.dense6_1(x), dim=1)


# stage name -> (net, file, example input side, output names); the names are what vitalens.regions.faces reads.
NETS = {
    "detector_pnet": (PNet, "detector_pnet.onnx", 12, ("offsets", "probs")),
    "detector_rnet": (RNet, "detector_rnet.onnx", 24, ("offsets", "probs")),
    "detector_onet": (ONet, "detector_onet.onnx", 48, ("offsets", "landmarks", "probs")),
}


def export_detector(weights_dir: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Load each state dict (weights only, no pickled code) and write its ONNX graph; PNet gets dynamic H and W."""
    out: dict[str, Path] = {}
    for stage, (cls, file, side, outputs) in NETS.items():
        net = cls().eval()
        net.load_state_dict(torch.load(Path(weights_dir) / f"{stage.split('_')[1]}.pt", weights_only=True))
        axes = {"pixels": {0: "batch", 2: "height", 3: "width"}} if cls is PNet else {"pixels": {0: "batch"}}
        if cls is not PNet:
            axes.update({name: {0: "batch"} for name in outputs})
        path = Path(out_dir) / file
        torch.onnx.export(net, (torch.rand(1, 3, side, side) * 255,), str(path), input_names=["pixels"], output_names=list(outputs),
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)  # fmt: skip
        out[stage] = path
    return out


TEMPLATE_CROPS = 400  # training crops the alignment template is measured on (every k-th by name: no choice)


def add_detector_stages(weights_dir: str | Path, bundle_dir: str | Path, utkface_dir: str | Path) -> Path:
    """Rewrite a face bundle with the detector stages, the alignment template and the compat stage; model.onnx
    is kept byte for byte, and the card keeps its evaluation with a section on the new stages appended."""
    bundle_dir = Path(bundle_dir)
    manifest = json.loads((bundle_dir / BUNDLE_FILE).read_text())
    detector = export_detector(weights_dir, bundle_dir)
    sessions = {key: ort.InferenceSession(str(detector[stage]), providers=["CPUExecutionProvider"]) for key, stage in STAGES.items()}
    names = sorted(p for p in (Path(utkface_dir) / "images").iterdir() if split_of(p.name) == "train")
    crops = [np.asarray(Image.open(p).convert("RGB")) for p in names[:: max(1, len(names) // TEMPLATE_CROPS)][:TEMPLATE_CROPS]]
    alignment = {**measure_template(crops, sessions), "measured_on": "UTKFace training-split crops (every k-th by file name), median landmark positions",
                 "landmarks": ["left eye", "right eye", "nose", "left mouth corner", "right mouth corner"]}  # fmt: skip
    compat = compat_from_bundle_onnx(bundle_dir / manifest["model"]["file"], bundle_dir / "model_compat.onnx")
    about = {"weights_origin": WEIGHTS_ORIGIN, "weights_licence": WEIGHTS_LICENCE}
    stages = {"model": (bundle_dir / manifest["model"]["file"], {k: v for k, v in manifest["model"].items() if k not in ("file", "sha256")})}
    stages |= {stage: (path, {**about, "description": f"MTCNN {stage.split('_')[1].upper()} (vitalens.regions.faces), input `pixels` RGB 0-255 NCHW"})
               for stage, path in detector.items()}  # fmt: skip
    stages["compat"] = (compat, {"description": COMPAT_DESCRIPTION, "browser": False})
    header = {"schema_version", "task", "vitalens_version", "created", "disclaimer"}
    # The detector is this bundle's face check: the whole-photo site check was fitted on crops and would refuse full photos.
    fields = {k: v for k, v in manifest.items() if k not in header and k not in stage_names(manifest) and k != "site_check"}
    fields["alignment"] = alignment
    fields["face_limits"] = {"min_face_px": MIN_FACE_PX, "max_tilt_deg": MAX_TILT_DEG, "max_turn_eye_distances": MAX_TURN}
    fields["inputs"]["image"]["preprocessing"] = "the face found by the bundled detector, aligned to `alignment` (vitalens.tasks.face_age_gender.regions.find_face), resized to 112x112 bilinear, x / 255"
    fields["limitations"] = [fields["limitations"][0], LIMITATION]
    return write_bundle(bundle_dir, TASK.name, stages, fields, lambda m: _with_detector_section((bundle_dir / CARD_FILE).read_text(), m))


def _with_detector_section(card: str, manifest: dict) -> str:
    """The card with its detector section replaced or put before the disclaimer (the evaluation is kept as it is)."""
    heading, disclaimer = f"## {DETECTOR_SECTION}\n", "## Disclaimer\n"
    head, _, tail = card.partition(disclaimer)
    head = head.split(heading)[0].rstrip()
    return f"{head}\n\n{heading}" + "\n".join(detector_section(manifest)) + f"\n\n{disclaimer}{tail}"


if __name__ == "__main__":
    print(add_detector_stages(sys.argv[1], sys.argv[2], sys.argv[3]))
