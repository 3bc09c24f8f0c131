"""Skin task: loader, lighting rules, degradations, skin tone, near duplicates, calibration layer and CAM."""

from __future__ import annotations

import numpy as np
import pytest

from vitalens.tasks.skin_condition.data import fitzpatrick_group, fitzpatrick_type, load_fitzpatrick17k
from vitalens.regions.centre_crop import centre_crop, centre_crop_resized
from vitalens.tasks.skin_condition.degradations import DEGRADATIONS, degrade_each
from vitalens.tasks.skin_condition.duplicates import average_hash, near_duplicate_groups
from vitalens.tasks.skin_condition.lighting import TIP_COLOUR_CAST, TIP_GLARE_SKIN, assess_lighting, lighting_label
from vitalens.tasks.skin_condition.tone import ita_group, measure_ita
from vitalens.quality import TIP_DARK, TIP_OVEREXPOSED


def skin_photo(size: int = 224, seed: int = 0, rgb=(196, 140, 115)) -> np.ndarray:
    """Warm skin with a darker lesion in the middle and fine texture: a well-lit clinical photo."""
    rng = np.random.default_rng(seed)
    image = np.empty((size, size, 3), np.float32)
    image[:] = rgb
    yy, xx = np.mgrid[:size, :size]
    lesion = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 6) ** 2
    image[lesion] = (130, 70, 60)
    image += rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def checkerboard(size: int = 224, square: int = 20) -> np.ndarray:
    """Blue and white squares: a photo with no skin in it."""
    yy, xx = np.mgrid[:size, :size]
    dark = ((yy // square + xx // square) % 2).astype(bool)
    return np.where(dark[..., None], np.array([30, 60, 200], np.uint8), np.array([245, 245, 245], np.uint8))


def test_fitzpatrick_type_falls_back_to_centaur_then_unknown():
    assert fitzpatrick_type("2", "5") == 2
    assert fitzpatrick_type("-1", "5") == 5
    assert fitzpatrick_type("-1", "-1") is None
    assert [fitzpatrick_group(t) for t in (1, 2, 3, 4, 5, 6, None)] == ["I-II", "I-II", "III-IV", "III-IV", "V-VI", "V-VI", "unknown"]


def test_loader_counts_bad_rows_missing_photos_and_wrong_labels(tmp_path):
    (tmp_path / "images").mkdir()
    from PIL import Image

    for name in ("a", "b", "d"):
        Image.fromarray(skin_photo(32)).save(tmp_path / "images" / f"{name}.jpg")
    (tmp_path / "labels.csv").write_text(
        "md5hash,label,fitzpatrick_scale,fitzpatrick_centaur,nine_partition_label,three_partition_label,qc\n"
        "a,eczema,-1,4,inflammatory,non-neoplastic,\n"
        "b,melanoma,x,1,malignant melanoma,malignant,\n"
        "c,melanoma,2,1,malignant melanoma,malignant,\n"
        "d,melanoma,2,1,malignant melanoma,malignant,3 Wrongly labelled\n"
    )
    dataset = load_fitzpatrick17k(tmp_path)
    assert [s.image_id for s in dataset.samples] == ["a"]
    assert dataset.samples[0].attributes["fitzpatrick_group"] == "III-IV"
    assert dataset.samples[0].targets == {"condition": "eczema", "three_partition": "non-neoplastic"}
    reasons = " | ".join(p.reason for p in dataset.problems)
    assert len(dataset.problems) == 3 and "not numbers" in reasons and "missing" in reasons and "wrongly labelled" in reasons


def test_the_task_lists_a_fitzpatrick17k_folder_by_its_labels(tmp_path):
    from PIL import Image

    from vitalens.data import load_dataset
    from vitalens.tasks import get_task

    (tmp_path / "images").mkdir()
    Image.fromarray(skin_photo(32)).save(tmp_path / "images" / "a.jpg")
    (tmp_path / "labels.csv").write_text("md5hash,label,fitzpatrick_scale,fitzpatrick_centaur,three_partition_label\na,eczema,5,5,non-neoplastic\n")
    dataset = load_dataset(tmp_path, get_task("skin-condition"))
    assert [s.image_id for s in dataset.samples] == ["a"] and dataset.samples[0].attributes["fitzpatrick_group"] == "V-VI"


def test_centre_crop_keeps_the_middle_square():
    image = np.zeros((100, 200, 3), np.uint8)
    image[50, 100] = 255
    crop = centre_crop(image)
    assert crop.shape == (80, 80, 3) and crop[40, 40].max() == 255
    assert centre_crop_resized(image, 32).shape == (32, 32, 3)


def test_well_lit_skin_photo_is_good():
    verdict = assess_lighting(skin_photo())
    assert verdict.good and verdict.reasons == [] and lighting_label(skin_photo()) == 1


@pytest.mark.parametrize(
    ("name", "change", "reason", "tip"),
    [
        ("dark", lambda x: (x * 0.2).astype(np.uint8), "dark", TIP_DARK),
        ("bright", lambda x: np.clip(x.astype(int) * 3, 0, 255).astype(np.uint8), "overexposed", TIP_OVEREXPOSED),
        ("blue", lambda x: np.clip(x * np.array([0.6, 0.8, 1.5]), 0, 255).astype(np.uint8), "colour_cast", TIP_COLOUR_CAST),
    ],
)
def test_crafted_poor_lighting_gets_its_reason_and_tip(name, change, reason, tip):
    verdict = assess_lighting(change(skin_photo()))
    assert not verdict.good and reason in verdict.reasons and tip in verdict.tips


def test_glare_spot_is_flagged_with_the_flash_tip():
    image = skin_photo()
    image[60:140, 60:140] = 255
    verdict = assess_lighting(image)
    assert "glare" in verdict.reasons and TIP_GLARE_SKIN in verdict.tips and "flash" in verdict.tip


def test_flat_blurred_photo_is_poor():
    flat = np.full((224, 224, 3), (190, 140, 120), np.uint8)
    verdict = assess_lighting(flat)
    assert {"low_contrast", "blurred"} <= set(verdict.reasons)


def test_every_degradation_changes_the_photo_and_mostly_makes_it_poor():
    photos = np.stack([skin_photo(seed=s) for s in range(10)])
    degraded, kinds = degrade_each(photos, seed=0)
    assert degraded.shape == photos.shape and degraded.dtype == np.uint8
    assert set(kinds) == set(DEGRADATIONS)
    assert all((d != p).any() for d, p in zip(degraded, photos))
    assert np.mean([lighting_label(d) for d in degraded]) < 0.5


def test_ita_separates_light_from_dark_skin():
    light = measure_ita(skin_photo(rgb=(235, 200, 180)))
    dark = measure_ita(skin_photo(rgb=(110, 70, 50)))
    assert light > 41 > 10 > dark
    assert ita_group(light).startswith("light") and ita_group(dark).startswith("brown")
    assert np.isnan(measure_ita(np.zeros((64, 64, 3), np.uint8))) and ita_group(float("nan")) == "unknown"


def test_connected_components_number_groups_by_their_first_photo():
    from vitalens.tasks.skin_condition.duplicates import connected_components

    linked = np.eye(6, dtype=bool)
    for a, b in ((4, 1), (1, 5), (2, 3)):  # a chain 1-4, 1-5 reached from its middle, and a pair
        linked[a, b] = linked[b, a] = True
    assert connected_components(linked).tolist() == [0, 1, 2, 2, 1, 1]


def test_near_duplicates_share_a_group_and_distinct_photos_do_not():
    first, other = skin_photo(seed=1), skin_photo(seed=2, rgb=(120, 160, 200))
    other[:112] = 30
    recompressed = np.clip(first.astype(int) + 3, 0, 255).astype(np.uint8)
    groups = near_duplicate_groups(np.stack([average_hash(x) for x in (first, recompressed, other)]))
    assert groups[0] == groups[1] != groups[2]


def test_photos_with_close_embeddings_share_a_group_even_when_their_hashes_differ():
    rng = np.random.default_rng(0)
    hashes = rng.random((4, 256)) < 0.5  # four unrelated hashes: the hash links nothing
    base = rng.normal(size=(3, 32))
    embeddings = np.stack([base[0], base[0] + 0.05 * rng.normal(size=32), base[1], base[2]])  # a recropped copy of photo 0
    assert len(set(near_duplicate_groups(hashes))) == 4
    groups = near_duplicate_groups(hashes, embeddings=embeddings)
    assert groups[0] == groups[1] and len({groups[0], groups[2], groups[3]}) == 3


def test_calibration_layer_starts_at_identity_and_prior_grows_when_it_moves():
    torch = pytest.importorskip("torch")
    from vitalens.tasks.skin_condition.network import ColourCalibration

    layer = ColourCalibration()
    image = torch.rand(2, 3, 8, 8)
    assert torch.equal(layer(image), image) and float(layer.prior().detach()) == 0.0
    with torch.no_grad():
        layer.matrix[0, 1] += 0.1
    assert float(layer.prior().detach()) == pytest.approx(0.01)


def test_class_activation_maps_shape_range_and_equal_grad_cam():
    torch = pytest.importorskip("torch")
    from vitalens.tasks.skin_condition.network import class_activation_maps

    generator = torch.Generator().manual_seed(0)
    feature_map = torch.rand(2, 16, 7, 7, generator=generator).requires_grad_(True)
    weight = torch.randn(5, 16, generator=generator)
    weight[3] = weight[3].abs()  # class 3 surely has a positive map to compare with autograd
    maps = class_activation_maps(feature_map, weight)
    assert maps.shape == (2, 5, 7, 7) and float(maps.min()) >= 0 and float(maps.max()) <= 1 + 1e-6
    # Grad-CAM by autograd for class 3 of photo 0 gives the same map.
    logit = (feature_map.mean(dim=(2, 3)) @ weight.T)[0, 3]
    (gradient,) = torch.autograd.grad(logit, feature_map)
    grad_cam = torch.relu((gradient[0].mean(dim=(1, 2))[:, None, None] * feature_map[0]).sum(0))
    assert torch.allclose(maps[0, 3], grad_cam / grad_cam.max(), atol=1e-5)


def test_capped_oversampling_never_raises_a_cell_beyond_the_cap():
    from vitalens.tasks.skin_condition.phases import capped_oversampling

    labels = np.array([0] * 90 + [1] * 10)
    tones = np.array(["I-II"] * 95 + ["V-VI"] * 5)
    probability = capped_oversampling(labels, tones, cap=3.0)
    assert probability.sum() == pytest.approx(1.0)
    natural = 1 / len(labels)
    assert probability.max() / probability.min() <= 3.0 + 1e-9
    assert probability[-1] > natural  # the rare (1, V-VI) cell is drawn more often than its share


def test_macro_recall_and_f1_equal_sklearn_with_the_present_classes_only():
    from sklearn.metrics import f1_score, recall_score

    from vitalens.tasks.skin_condition.metrics import macro_recall_f1

    rng = np.random.default_rng(0)
    for draw in range(50):
        n_classes = int(rng.integers(2, 9))
        labels = rng.integers(0, n_classes - 1 if draw % 3 == 0 else n_classes, int(rng.integers(5, 60)))  # a class absent
        predicted = np.where(rng.random(len(labels)) < 0.5, labels, rng.integers(0, n_classes, len(labels)))
        present = np.unique(labels)
        recall, f1 = macro_recall_f1(labels, predicted, n_classes)
        assert recall == pytest.approx(recall_score(labels, predicted, labels=present, average="macro", zero_division=0), abs=1e-12)
        assert f1 == pytest.approx(f1_score(labels, predicted, labels=present, average="macro", zero_division=0), abs=1e-12)
