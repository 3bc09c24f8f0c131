import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    candidates = [os.environ.get("VITALENS_SHARED_DATA"), REPO.parent / "shared" / "data", Path("/work/shared/data")]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def shared_dataset(name: str) -> Path:
    root = shared_data_dir()
    if root is None or not (root / name).exists():
        pytest.skip(f"real dataset ../shared/data/{name} is not present (set VITALENS_SHARED_DATA to use it)")
    return root / name


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
