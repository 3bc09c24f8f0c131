"""The card's red mark as a second colour reference: found robustly, absent safely, exact where it must be."""

import numpy as np
import pytest
import torch

from vitalens.tasks.hb_nails.features import ColourFeatures, RedCorrectedColourFeatures
from vitalens.tasks.hb_nails.regions import RED_MARK_RELATIVE, nail_regions, reference_red, reference_white, region_inputs

NAILS = [(60, 20, 90, 50), (100, 20, 130, 50)]
SKINS = [(60, 60, 90, 90), (100, 60, 130, 90)]
MARK = (210, 62, 58)


def _card(with_mark: bool = True) -> np.ndarray:
    """A white card with pinkish fingers, an orange light streak and, optionally, the red mark."""
    image = np.full((160, 200, 3), 238, np.uint8)
    for nail, skin in zip(NAILS, SKINS):
        image[nail[0] : nail[2], nail[1] : nail[3]] = (205, 150, 150)
        image[skin[0] : skin[2], skin[1] : skin[3]] = (215, 160, 140)
    image[150:156, 20:190] = (250, 175, 80)  # the lamp's streak: red but not pure red
    if with_mark:
        yy, xx = np.mgrid[:160, :200]
        image[(yy - 30) ** 2 + (xx - 140) ** 2 <= 9**2] = MARK
    return image


def test_red_mark_is_found_and_skin_and_orange_light_are_not():
    red = reference_red(_card())
    assert red is not None
    assert np.allclose(red, np.array(MARK) / 255.0, atol=2 / 255)
    assert reference_red(_card(with_mark=False)) is None


def test_a_photo_without_the_mark_falls_back_to_white_only():
    regions = nail_regions(_card(with_mark=False), NAILS, SKINS, 16)
    assert not regions.red_found
    assert np.allclose(regions.red, regions.white * np.array(RED_MARK_RELATIVE), atol=1e-6)
    feeds = {k: torch.from_numpy(v) for k, v in region_inputs(regions).items()}
    plain = ColourFeatures()(feeds["nails"], feeds["skins"], feeds["white"])
    corrected = RedCorrectedColourFeatures()(feeds["nails"], feeds["skins"], feeds["white"], feeds["red"])
    assert torch.allclose(plain, corrected, atol=1e-4)


def test_red_correction_rescales_green_and_blue_densities_to_the_card_units():
    regions = nail_regions(_card(), NAILS, SKINS, 16)
    feeds = {k: torch.from_numpy(v) for k, v in region_inputs(regions).items()}
    names = list(ColourFeatures.names)
    plain = ColourFeatures()(feeds["nails"], feeds["skins"], feeds["white"])
    corrected = RedCorrectedColourFeatures()(feeds["nails"], feeds["skins"], feeds["white"], feeds["red"])
    observed = np.log(regions.red / reference_white(_card()))
    expected_exponent = np.log(RED_MARK_RELATIVE) / observed
    for channel, exponent in zip("gb", expected_exponent[1:]):
        column = names.index(f"nail_optical_density_{channel}")
        assert corrected[:, column].numpy() == pytest.approx(plain[:, column].numpy() * exponent, rel=1e-3)
    red_column = names.index("nail_optical_density_r")
    assert torch.allclose(corrected[:, red_column], plain[:, red_column])


@pytest.mark.slow
def test_red_mark_found_on_every_development_photo(yakimov_dir):
    from vitalens.tasks.hb_nails.data import load_yakimov
    from vitalens.imaging import decode_image

    samples = load_yakimov(yakimov_dir).samples
    ratios = []
    for sample in samples:
        rgb = decode_image(sample.image_path).rgb
        red = reference_red(rgb)
        assert red is not None, f"{sample.image_path}: red mark not found"
        ratios.append(red / reference_white(rgb))
    assert np.allclose(np.median(ratios, axis=0), RED_MARK_RELATIVE, atol=0.01)
