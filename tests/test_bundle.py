"""Bundle round trip on a small synthetic dataset: train → export → load → same numbers, no torch at inference."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vitalens.colour import srgb_to_lab
from vitalens.tasks._haemoglobin.config import load_config
from vitalens.tasks.hb_nails.export import export_bundle, graph_for
from vitalens.tasks.hb_nails.features import srgb_to_lab as torch_srgb_to_lab
from vitalens.imaging import decode_image
from vitalens.bundle import BUNDLE_FILE, BundleError, load_bundle
from vitalens.tasks.hb_nails.runtime import NailHbPredictor
from vitalens import runs

NAILS = [(10, 10, 30, 30), (40, 10, 60, 30), (70, 10, 90, 30)]
SKINS = [(10, 40, 30, 60), (40, 40, 60, 60), (70, 40, 90, 60)]


def _photo(hb: float, rng) -> np.ndarray:
    """White card with its red mark, pinker nails for higher Hb, skin beside them; plus noise."""
    image = np.full((100, 120, 3), 235.0)
    image[40:52, 100:112] = (215, 70, 66)
    redness = (hb - 6) / 12
    for box in NAILS:
        image[box[0] : box[2], box[1] : box[3]] = (200, 170 - 60 * redness, 160 - 50 * redness)
    for box in SKINS:
        image[box[0] : box[2], box[1] : box[3]] = (210, 160, 140)
    return np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def synthetic_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic_nails")
    rng = np.random.default_rng(0)
    lines = ["image,group,hb,nail_boxes,skin_boxes"]
    for i in range(24):
        hb = float(rng.uniform(7, 16))
        Image.fromarray(_photo(hb, rng)).save(root / f"p{i}.png")
        lines.append(f'p{i}.png,session{i % 6},{hb:.2f},"{json.dumps(NAILS)}","{json.dumps(SKINS)}"')
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module", params=["colour", "colour_red"])
def bundle_dir(request, synthetic_dataset, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("run")
    config = load_config(data=str(synthetic_dataset), features=request.param, head="ridge", n_boot=50, experiments_dir=str(work), run_name="synthetic")
    run_dir, report = runs.train(config, show_progress=False)
    assert report["model"]["mae"] < report["mean_predictor"]["mae"]  # the synthetic signal is learnable
    return export_bundle(run_dir, work / "bundle")


def test_lab_torch_matches_numpy():
    rgb = np.random.default_rng(2).uniform(0, 1, (50, 3))
    expected = srgb_to_lab(rgb)
    actual = torch_srgb_to_lab(torch.tensor(rgb, dtype=torch.float32)).numpy()
    assert np.allclose(actual, expected, atol=1e-3)
    assert np.allclose(srgb_to_lab(np.ones(3)), [100, 0, 0], atol=1e-2)


def test_bundle_round_trip_and_onnx_torch_parity(bundle_dir, synthetic_dataset):
    bundle = load_bundle(bundle_dir)
    manifest = bundle.manifest
    assert manifest["task"] == "hb-nails" and manifest["uncertainty"]["half_width"] > 0
    assert (bundle_dir / "MODEL_CARD.md").read_text().startswith("---\nlicense:")
    predictor = NailHbPredictor(bundle)
    rgb = decode_image(synthetic_dataset / "p0.png").rgb
    onnx_per_nail, _ = predictor.per_nail(rgb, NAILS, SKINS)

    from vitalens.tasks.hb_nails.regions import nail_regions, region_inputs

    saved = __import__("joblib").load(bundle_dir.parent / "synthetic" / "model.joblib")
    regions = nail_regions(rgb, NAILS, SKINS, 32)
    assert regions.red_found
    graph = graph_for(saved["model"])
    assert sorted(manifest["inputs"]) == sorted(graph.inputs) == sorted(i.name for i in bundle.session().get_inputs())
    assert ("red_reference" in manifest["region"]) == ("red" in graph.inputs)
    feeds = region_inputs(regions)
    with torch.no_grad():
        torch_per_nail = graph(*(torch.from_numpy(feeds[name]) for name in graph.inputs)).numpy()
    sklearn_per_nail = saved["model"].predict_features(*saved["model"].transform([regions]))[1]
    assert np.allclose(onnx_per_nail, torch_per_nail, atol=1e-3)
    assert np.allclose(onnx_per_nail, sklearn_per_nail, atol=1e-3)
    result = predictor.predict(rgb, NAILS, SKINS, "p0")
    assert result.status == "ok" and result.interval[0] < result.hb < result.interval[1]
    assert result.hb == pytest.approx(float(np.median(onnx_per_nail)))


def test_checksum_mismatch_is_refused(bundle_dir, tmp_path):
    copy = tmp_path / "tampered"
    copy.mkdir()
    for file in bundle_dir.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    (copy / "model.onnx").write_bytes((copy / "model.onnx").read_bytes() + b"\0")
    with pytest.raises(BundleError, match="checksum mismatch"):
        load_bundle(copy)


def test_newer_schema_is_refused(bundle_dir, tmp_path):
    copy = tmp_path / "future"
    copy.mkdir()
    for file in bundle_dir.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    manifest = json.loads((copy / BUNDLE_FILE).read_text())
    manifest["schema_version"] = 99
    (copy / BUNDLE_FILE).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="newer than this vitalens reads"):
        load_bundle(copy)


def test_refuses_a_photo_without_nails(bundle_dir):
    result = NailHbPredictor(load_bundle(bundle_dir)).predict(np.full((50, 50, 3), 255, np.uint8), None)
    assert result.status == "refused" and result.hb is None and result.tips


def test_shipped_bundle_predicts_examples_without_importing_torch(tmp_path):
    """The README's first command: the shipped bundle on the example photos, torch never imported."""
    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "predictions.csv"
    script = (
        "import sys\n"
        "from vitalens.cli import app\n"
        f"try:\n    app(['predict', '--data', r'{repo / 'examples' / 'nails'}', '--out', r'{out}'])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported at inference'\n"
        "print('NO_TORCH_OK')\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "NO_TORCH_OK" in completed.stdout, completed.stderr[-2000:]
    rows = out.read_text().splitlines()
    assert rows[0].startswith("image_id,predicted_hgb,interval_low,interval_high")
    assert len(rows) == 5
    for row in rows[1:]:
        hb = float(row.split(",")[1])
        assert 4 < hb < 20


def test_cnn_bundle_round_trip_runs_on_the_same_runtime(synthetic_dataset, tmp_path):
    """A CNN bundle's graph has no skin input; the runtime feeds each graph only what it declares."""
    config = load_config(data=str(synthetic_dataset), features="cnn", crop_size=32, head="ridge", n_boot=20,
                         experiments_dir=str(tmp_path), run_name="cnn")
    run_dir, _ = runs.train(config, show_progress=False)
    bundle = load_bundle(export_bundle(run_dir, tmp_path / "bundle"))
    rgb = decode_image(synthetic_dataset / "p0.png").rgb
    onnx_per_nail, _ = NailHbPredictor(bundle).per_nail(rgb, NAILS, SKINS)
    saved = __import__("joblib").load(run_dir / "model.joblib")
    from vitalens.tasks.hb_nails.regions import nail_regions

    sklearn_per_nail = saved["model"].predict_features(*saved["model"].transform([nail_regions(rgb, NAILS, SKINS, 32)]))[1]
    assert np.allclose(onnx_per_nail, sklearn_per_nail, atol=1e-2)
