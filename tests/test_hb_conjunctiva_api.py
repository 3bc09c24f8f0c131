"""The HTTP API answers hb-conjunctiva exactly as the Python runtime does (task picked from the registry)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the service needs the `serve` extra (fastapi, uvicorn, python-multipart)")
from fastapi.testclient import TestClient  # noqa: E402

from vitalens import DISCLAIMER  # noqa: E402
from vitalens.data.shared import find_shared_dataset  # noqa: E402
from vitalens.imaging import decode_image  # noqa: E402
from vitalens.runtime import load_predictor, predict_one  # noqa: E402
from vitalens.service import create_app  # noqa: E402

FILE_FIELDS = ("filename", "width", "height", "format")


def _photos() -> list[tuple[str, bytes]]:
    """A real held-out conjunctiva photo when ../shared is here, and always a blank (refused) image."""
    blank = io.BytesIO()
    Image.fromarray(np.full((200, 300, 3), 250, np.uint8)).save(blank, "PNG")
    photos = [("blank.png", blank.getvalue())]
    root = find_shared_dataset("cp-anemic")
    if root is not None:
        real = sorted((root / "Non-anemic").glob("*.png"))[0]
        photos.append((real.name, real.read_bytes()))
    return photos


@pytest.mark.parametrize("name,data", _photos())
def test_api_answers_like_the_python_runtime(name, data):
    body = TestClient(create_app()).post("/v1/predict", files=[("image", (name, data, "image/png"))], data={"task": "hb-conjunctiva"}).json()
    expected = predict_one(load_predictor(None, "hb-conjunctiva"), decode_image(data, name).rgb, name)
    result = body["results"][0]
    assert {k: v for k, v in result.items() if k not in FILE_FIELDS} == json.loads(json.dumps(expected.to_json()))
    assert body["disclaimer"] == DISCLAIMER and "mean" in body["caveat"]
