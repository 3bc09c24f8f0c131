from pathlib import Path

import pytest



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
