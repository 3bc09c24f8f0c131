"""The depth-probe skin model: its layer rule, orientation invariance, Grad-CAM, the composed linear head,
saving and the float16-stored ONNX graph."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vitalens.tasks.skin_condition.probe import SkinProbe, fit_probe_heads, probe_depths, probe_outputs  # noqa: E402


@pytest.fixture(scope="module")
def probe():
    from vitalens.tasks.skin_condition.typicality import fit_typicality

    torch.manual_seed(0)
    model = SkinProbe(4, ("efficientnet_lite0",), input_size=64, pretrained=False).eval()
    with torch.no_grad():
        pooled = model.pooled_views(torch.rand(12, 3, 64, 64, generator=torch.Generator().manual_seed(3))).mean(dim=0).numpy()
    fit_typicality(model.typicality, pooled[:8], pooled[8:])
    return model


def test_depth_rules_pick_blocks_by_position_and_always_keep_the_head():
    assert probe_depths(16, "every_third_from_middle") == [8, 11, 14, 15, 16]  # Lite0: 16 blocks, index 16 is the head convolution
    assert probe_depths(16) == list(range(5, 17))  # the default: every block from the first third on
    with pytest.raises(ValueError, match="unknown depth rule"):
        probe_depths(16, "every_block")


def test_input_size_must_pool_exactly_onto_the_head_grid():
    with pytest.raises(ValueError, match="multiple of 32"):
        SkinProbe(3, ("efficientnet_lite0",), input_size=100, pretrained=False)


def test_a_mirrored_photo_gets_the_same_answer_and_a_mirrored_heat_map(probe):
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits, lighting, cam, typicality = probe.explain(images)
        mirrored_logits, mirrored_lighting, mirrored_cam, mirrored_typicality = probe.explain(images.flip(3))
    assert torch.allclose(logits, mirrored_logits, atol=1e-4) and torch.allclose(lighting, mirrored_lighting, atol=1e-4)
    assert torch.allclose(typicality, mirrored_typicality, rtol=1e-4)
    assert torch.allclose(cam.flip(3), mirrored_cam, atol=1e-4)
    assert cam.shape == (2, 4, 2, 2) and float(cam.min()) >= 0 and float(cam.max()) <= 1 + 1e-6
    assert torch.allclose(probe(images)[0], logits, atol=1e-5)  # explain and forward agree


def test_heads_average_the_probabilities_of_one_logistic_regression_per_trunk_over_views():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    model = SkinProbe(3, ("efficientnet_lite0", "efficientnet_lite0"), input_size=64, views=("identity", "hflip"), pretrained=False)
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 10)
    width = model.feature_mean.shape[0]
    features = rng.normal(size=(2, 30, width)) + labels[None, :, None] * rng.normal(size=width) * 0.3
    fit_probe_heads(model, features, labels, c=0.1)
    expected = []
    for columns in model.columns:
        rows = features[..., columns].reshape(-1, columns.stop - columns.start)
        scaler = StandardScaler().fit(rows)
        logistic = LogisticRegression(C=0.1, class_weight="balanced", max_iter=1000).fit(scaler.transform(rows), np.tile(labels, 2))
        expected += [logistic.predict_proba(scaler.transform(features[view][:, columns])) for view in range(2)]
    log_probabilities, _ = probe_outputs(model, features)
    np.testing.assert_allclose(np.exp(log_probabilities), np.mean(expected, axis=0), atol=1e-4)


def test_saved_probe_loads_back_with_the_same_answers(probe, tmp_path):
    from vitalens.tasks.skin_condition.network import load_skin_model, save_skin_model

    save_skin_model(probe, ["a", "b", "c", "d"], 1.2, tmp_path / "probe.pt", lighting_threshold=0.4)
    loaded, saved = load_skin_model(tmp_path / "probe.pt")
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert isinstance(loaded, SkinProbe) and torch.equal(loaded(images)[0], probe(images)[0])
    assert saved["temperature"] == 1.2 and saved["lighting_threshold"] == 0.4


def test_onnx_graph_matches_torch_and_float16_storage_halves_it(probe, tmp_path):
    import onnx

    from vitalens.tasks.skin_condition.export import export_skin_onnx, onnx_torch_gap

    exact = export_skin_onnx(probe, 1.5, tmp_path / "float32.onnx", float16_weights=False)
    assert max(onnx_torch_gap(probe, 1.5, exact).values()) < 1e-3
    half = export_skin_onnx(probe, 1.5, tmp_path / "float16.onnx")
    stored = onnx.load(str(half)).graph.initializer
    assert sum(int(np.prod(w.dims)) for w in stored if w.data_type == onnx.TensorProto.FLOAT16) > 0.9 * sum(p.numel() for p in probe.parameters())
    assert half.stat().st_size < 0.6 * exact.stat().st_size
    assert onnx_torch_gap(probe, 1.5, half)["diagnosis_probs"] < 1e-2  # rounding only: ~2e-3 measured on these random images


def test_each_member_heat_map_is_an_exact_decomposition_of_its_logits(probe):
    """Grad-CAM of a linear head on pooled maps: the grid mean of sum_depth pool(w . A) is the head's
    logit minus its constant part, so the map accounts for the whole score (before the ReLU and scaling)."""
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    head, columns = probe.diagnosis_heads[0], probe.columns[0]
    with torch.no_grad():
        depth_maps = probe.trunks[0](images)
        weight = head.weight / probe.feature_std[columns]
        maps = probe._class_maps(depth_maps, weight)
        pooled = torch.cat([m.mean(dim=(2, 3)) for m in depth_maps], dim=1)
        logits = head((pooled - probe.feature_mean[columns]) / probe.feature_std[columns])
        constant = head.bias - weight @ probe.feature_mean[columns]
    assert maps.shape == (2, 4, 2, 2)
    assert torch.allclose(maps.mean(dim=(2, 3)) + constant, logits, atol=1e-3)
