import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

NAILS = [(10, 10, 30, 30), (40, 10, 60, 30), (70, 10, 90, 30)]
SKINS = [(10, 40, 30, 60), (40, 40, 60, 60), (70, 40, 90, 60)]


def shared_dataset(name: str) -> Path:
    """The development dataset `name` (see vitalens.data.shared), or skip the test saying why."""
    from vitalens.data.shared import find_shared_dataset, missing_dataset_message

    folder = find_shared_dataset(name)
    if folder is None:
        pytest.skip(missing_dataset_message(name))
    return folder


@pytest.fixture
def yakimov_dir() -> Path:
    return shared_dataset("yakimov2024")


@pytest.fixture
def heic_dir() -> Path:
    return shared_dataset("heic-samples")


@pytest.fixture(scope="session")
def skin_fixture_bundle(tmp_path_factory) -> Path:
    """A skin-condition bundle exported from a network with untrained heads (tests/skin_fixture.py)."""
    pytest.importorskip("torch", reason="building the fixture skin bundle needs torch")
    from skin_fixture import build_fixture_skin_bundle

    return build_fixture_skin_bundle(tmp_path_factory.mktemp("skin-condition-bundle"))


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


def write_synthetic_nails(root: Path, n: int, seed: int) -> Path:
    """`n` labelled synthetic card photos in 6 sessions, as a manifest with boxes (pinker nails = higher Hb)."""
    rng = np.random.default_rng(seed)
    lines = ["image,group,hb,nail_boxes,skin_boxes"]
    for i in range(n):
        hb = float(rng.uniform(7, 16))
        Image.fromarray(_photo(hb, rng)).save(root / f"p{i}.png")
        lines.append(f'p{i}.png,session{i % 6},{hb:.2f},"{json.dumps(NAILS)}","{json.dumps(SKINS)}"')
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="session")
def synthetic_nails(tmp_path_factory) -> Path:
    return write_synthetic_nails(tmp_path_factory.mktemp("nested_nails"), 30, seed=1)
