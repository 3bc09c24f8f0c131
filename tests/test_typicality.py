"""The typicality check: photos like the training ones score at most 1 as often as the reference
percentile says, photos from elsewhere score far above, and an unfitted check cannot be exported."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vitalens.tasks.skin_condition.typicality import REFERENCE_PERCENTILE, Typicality, fit_typicality  # noqa: E402


def _subspace_data(rng, basis, n):
    """Points near the span of `basis` (k x D), with a little isotropic noise."""
    return rng.normal(size=(n, len(basis))) @ basis * 3.0 + rng.normal(size=(n, basis.shape[1])) * 0.1


def _scores(module, features):
    with torch.no_grad():
        return module(torch.from_numpy(features).float()).numpy()


def test_familiar_points_pass_at_the_reference_rate_and_points_off_the_subspace_do_not():
    rng = np.random.default_rng(0)
    basis, elsewhere = rng.normal(size=(8, 40)), rng.normal(size=(8, 40))
    module = Typicality(40, components=8)
    info = fit_typicality(module, _subspace_data(rng, basis, 400), _subspace_data(rng, basis, 200))
    assert info["components"] == 8 and info["explained_variance"] > 0.9
    assert np.mean(_scores(module, _subspace_data(rng, basis, 2000)) <= 1.0) == pytest.approx(REFERENCE_PERCENTILE / 100, abs=0.03)
    assert np.mean(_scores(module, _subspace_data(rng, elsewhere, 200)) > 1.0) > 0.99


def test_fewer_photos_than_components_leave_the_extra_components_zero():
    rng = np.random.default_rng(1)
    module = Typicality(30, components=16)
    fit_typicality(module, rng.normal(size=(10, 30)), rng.normal(size=(5, 30)))
    assert module.fitted and int((module.components.abs().sum(dim=1) > 0).sum()) == 10


def test_an_unfitted_check_is_never_exported(tmp_path):
    from vitalens.tasks.skin_condition.export import export_skin_onnx
    from vitalens.tasks.skin_condition.probe import SkinProbe

    model = SkinProbe(3, ("efficientnet_lite0",), input_size=64, pretrained=False)
    assert not model.typicality.fitted
    with pytest.raises(ValueError, match="typicality"):
        export_skin_onnx(model, 1.0, tmp_path / "model.onnx")
