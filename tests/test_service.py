"""The HTTP service: API shape, malformed uploads, memory-only uploads, concurrency, no torch."""

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the service needs the `serve` extra (fastapi, uvicorn, python-multipart)")
from fastapi.testclient import TestClient  # noqa: E402

from vitalens import DISCLAIMER  # noqa: E402
from vitalens.imaging import decode_image  # noqa: E402
from vitalens.runtime import load_predictor  # noqa: E402
from vitalens.service import ServiceLimits, create_app  # noqa: E402
from vitalens.service.local_server import local_server  # noqa: E402
from vitalens.service.probes import malformed_probes  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PHOTOS = sorted((REPO / "examples" / "nails").glob("*.png"))
FACE = REPO / "examples" / "faces" / "astronaut_face.jpg"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def _upload(*paths: Path) -> list:
    return [("image", (p.name, p.read_bytes(), "image/png")) for p in paths]


FILE_FIELDS = ("filename", "width", "height", "format")


def _as_api_would(prediction) -> dict:
    return json.loads(json.dumps(prediction.to_json()))


def test_predict_matches_the_python_runtime_and_says_what_it_is(client):
    response = client.post("/v1/predict", files=_upload(PHOTOS[0]), data={"sex": "female", "age_years": "30"})
    assert response.status_code == 200
    body = response.json()
    expected = load_predictor(None, "hb-nails").predict_image(decode_image(PHOTOS[0]).rgb, PHOTOS[0].name, sex="female", age_years=30)
    (result,) = body["results"]
    assert result["status"] == expected.status == "ok" and result["image_id"] == PHOTOS[0].name
    assert {k: v for k, v in result.items() if k not in FILE_FIELDS} == _as_api_would(expected)
    assert all(isinstance(nail["box"], list) for nail in result["nails"])
    assert result["interpretation"]["population_group"] == "non_pregnant_women_15_plus"
    assert result["reasons"] == [] and result["message"] == ""
    assert body["disclaimer"] == DISCLAIMER and body["aggregate"] is None and "mean" in body["caveat"]


def test_several_photos_of_one_person_get_the_iqr_then_median_aggregate(client):
    body = client.post("/v1/predict", files=_upload(*PHOTOS)).json()
    estimates = [r["predicted_hgb"] for r in body["results"] if r["status"] == "ok"]
    aggregate = body["aggregate"]
    assert aggregate["method"] == "iqr-then-median" and aggregate["n_images"] == len(PHOTOS)
    assert aggregate["n_used"] + aggregate["n_rejected"] == len(estimates)
    assert min(estimates) <= aggregate["hb"] <= max(estimates) and aggregate["interval"][0] >= 0
    assert aggregate["interpretation"]["severity"] in ("none", "mild", "moderate", "severe")


def test_two_uploads_with_one_name_get_two_ids(client):
    body = client.post("/v1/predict", files=_upload(PHOTOS[0], PHOTOS[0])).json()
    assert [r["image_id"] for r in body["results"]] == [PHOTOS[0].name, f"{PHOTOS[0].name}#2"]


def test_a_photo_the_gate_refuses_gets_reasons_and_tips_and_no_number(client):
    dark = decode_image(PHOTOS[0]).rgb // 8
    (result,) = client.post("/v1/predict", files=[("image", ("dark.png", _png(dark), "image/png"))]).json()["results"]
    assert result["status"] == "refused" and result.get("predicted_hgb") is None
    assert result["reasons"] == ["dark"] and "daylight" in result["message"]


def test_face_task(client):
    body = client.post("/v1/predict", files=[("image", (FACE.name, FACE.read_bytes(), "image/jpeg"))], data={"task": "face-age-gender"}).json()
    (result,) = body["results"]
    expected = load_predictor(None, "face-age-gender").predict_image(decode_image(FACE).rgb, FACE.name)
    assert {k: v for k, v in result.items() if k not in FILE_FIELDS} == _as_api_would(expected)
    assert result["status"] == "ok" and 0 < result["predicted_age"] < 120 and 0 <= result["probability_female"] <= 1


def test_lips_task_answers_like_the_python_runtime(client):
    body = client.post("/v1/predict", files=[("image", (FACE.name, FACE.read_bytes(), "image/jpeg"))] * 2, data={"task": "hb-lips"}).json()
    expected = load_predictor(None, "hb-lips").predict_image(decode_image(FACE).rgb, FACE.name)
    result = body["results"][0]
    assert {k: v for k, v in result.items() if k not in FILE_FIELDS} == _as_api_would(expected)
    if result["status"] == "ok":
        assert isinstance(result["lip_box"], list) and body["aggregate"]["n_used"] == 2
    assert "mean" in body["caveat"] and body["disclaimer"] == DISCLAIMER


def _png(rgb) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def test_skin_task_from_a_bundle_folder_answers_like_the_python_runtime(skin_fixture_bundle):
    from test_skin import checkerboard, skin_photo
    from vitalens.runtime import load_bundle
    from vitalens.tasks.skin_condition.runtime import SkinPredictor

    skin_client = TestClient(create_app(bundle_dirs=[skin_fixture_bundle]))
    photos = {"skin.png": skin_photo(300, seed=3)[:, :250], "dark.png": (skin_photo(300, seed=4) * 0.12).astype("uint8"), "not-skin.png": checkerboard(200)}
    body = skin_client.post("/v1/predict", files=[("image", (name, _png(rgb), "image/png")) for name, rgb in photos.items()],
                            data={"task": "skin-condition"}).json()
    predictor = SkinPredictor(load_bundle(skin_fixture_bundle))
    assert body["task"] == "skin-condition" and body["disclaimer"] == DISCLAIMER and "held-out" in body["caveat"]
    assert [r["status"] for r in body["results"]] == ["ok", "ok", "refused"]
    for result, (name, rgb) in zip(body["results"][:2], photos.items()):
        expected = predictor.predict(rgb, name)
        assert result["filename"] == name and result["disclaimer"] == DISCLAIMER and expected["photo_check"] == "typical"
        assert [t["label"] for t in result["top"]] == [t["label"] for t in expected["top"]]
        assert [t["probability"] for t in result["top"]] == pytest.approx([t["probability"] for t in expected["top"]], abs=1e-6)
        assert (result["lighting"], result["lighting_tip"]) == (expected["lighting"], expected["lighting_tip"])
        assert result["three_partition"] == expected["three_partition"]
        heatmap = result["heatmap"]
        assert heatmap["label"] == expected["top"][0]["label"]
        np.testing.assert_allclose(heatmap["values"], expected["heatmap"], atol=5e-4)
    assert body["results"][1]["lighting"] == "poor" and "daylight" in body["results"][1]["lighting_tip"]  # typical, poorly lit: labels and a tip
    not_skin = body["results"][2]  # the photo check's refusal: the reason (with its score) and a tip, no labels
    assert "photo check" in not_skin["reasons"][0] and "close up" in not_skin["message"] and not_skin["typicality"] > 1
    assert not {"label_1", "top", "heatmap", "lighting"} & set(not_skin)
    index = skin_client.get("/bundles/index.json").json()["tasks"]
    assert index["skin-condition"] == ["/bundles/skin-condition/bundle.json", "/bundles/skin-condition/model.onnx"]
    assert skin_client.get("/bundles/skin-condition/bundle.json").json()["labels"] == predictor.labels


def test_a_bundle_folder_for_a_task_without_a_runtime_is_refused(tmp_path):
    from vitalens.runtime import BundleError

    import shutil

    from vitalens.bundle import shipped_bundle_path

    folder = tmp_path / "bundle"
    shutil.copytree(shipped_bundle_path("hb-lips"), folder)
    (folder / "bundle.json").write_text((folder / "bundle.json").read_text().replace('"task": "hb-lips"', '"task": "no-such-task"'))
    with pytest.raises(BundleError, match="no-such-task"):
        create_app(bundle_dirs=[folder])


def test_models_health_openapi_and_the_app_files(client):
    models = client.get("/v1/models").json()
    tasks = {m["task"]: m for m in models["models"]}
    assert {"hb-nails", "face-age-gender", "hb-lips"} <= set(tasks)
    assert "not a medical device" in tasks["hb-nails"]["card"] + models["disclaimer"]
    for url in tasks["hb-nails"]["browser_files"]:
        assert client.get(url).status_code == 200, url
    assert client.get("/bundles/index.json").json()["tasks"]["hb-nails"] == tasks["hb-nails"]["browser_files"]
    assert client.get("/bundles/hb-nails/MODEL_CARD.md").status_code == 200
    assert client.get("/bundles/hb-nails/../tasks.py").status_code == 404 and client.get("/bundles/no-such-task/bundle.json").status_code == 404
    assert client.get("/healthz").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/predict", "/v1/models", "/healthz"} <= set(paths)
    assert client.get("/rules/who_2024_anaemia.json").json()["id"] == "who-2024-anaemia"
    assert client.get("/rules/no-such-rules.json").status_code == 404
    assert client.get("/vendor/onnxruntime-web/package.json").status_code == 404


@pytest.mark.parametrize("probe", malformed_probes(PHOTOS[0]), ids=lambda p: p.name)
def test_malformed_requests_get_a_clear_4xx(client, probe):
    response = client.post("/v1/predict", files=probe.files or None, data=probe.data)
    assert response.status_code == probe.expected_status, response.text
    body = response.json()
    assert body["detail"] and body["disclaimer"] == DISCLAIMER


def test_a_request_over_the_size_limit_is_refused_before_it_is_read():
    small = TestClient(create_app(ServiceLimits(max_upload_bytes=10_000, max_images=1)))
    response = small.post("/v1/predict", files=_upload(PHOTOS[0]))
    assert response.status_code == 413 and "larger than" in response.json()["detail"]


def test_a_streamed_upload_over_the_limit_is_cut_off_with_413():
    """A chunked upload has no Content-Length: the limit is enforced while the body streams in."""
    small = TestClient(create_app(ServiceLimits(max_upload_bytes=10_000, max_images=1)))
    boundary = "vitalens-test"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n").encode() + PHOTOS[0].read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    chunks = (body[i : i + 16384] for i in range(0, len(body), 16384))
    response = small.post("/v1/predict", content=chunks, headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413 and "larger than" in response.json()["detail"]


def test_too_many_images_in_one_request():
    small = TestClient(create_app(ServiceLimits(max_images=2)))
    small_photo = [("image", ("x.png", b"\x89PNG", "image/png"))] * 3
    assert small.post("/v1/predict", files=small_photo).status_code == 413


def test_uploads_never_touch_the_disk(client, monkeypatch):
    """A multi-megabyte upload stays in memory: the spooled file never rolls over to a temporary file."""
    rolled = []
    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", lambda self: rolled.append(self))
    big = PHOTOS[0].read_bytes() + b"\0" * (3 * 1024 * 1024)  # PNG readers ignore trailing bytes
    response = client.post("/v1/predict", files=[("image", ("big.png", big, "image/png"))])
    assert response.status_code == 200 and rolled == []


def test_the_service_does_not_import_torch():
    code = "import sys; from vitalens.service import create_app; create_app(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_concurrent_requests_and_malformed_ones_while_it_keeps_serving():
    """A real `vitalens serve` process: 16 requests 8 at a time, malformed ones mixed in, all answered right."""
    photo = PHOTOS[0].read_bytes()
    probes = malformed_probes(PHOTOS[0])

    async def run(base: str) -> list[tuple[int, int]]:
        limit = asyncio.Semaphore(8)
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            async def good():
                async with limit:
                    r = await http.post("/v1/predict", files=[("image", ("p.png", photo, "image/png"))])
                    return r.status_code, 200

            async def bad(probe):
                async with limit:
                    r = await http.post("/v1/predict", files=probe.files or None, data=probe.data)
                    return r.status_code, probe.expected_status

            answers = await asyncio.gather(*[good() for _ in range(16)], *[bad(p) for p in probes])
            answers.append(((await http.get("/healthz")).status_code, 200))
            return answers

    with local_server("--max-concurrent", "2") as base:
        answers = asyncio.run(run(base))
    assert [got for got, _ in answers] == [want for _, want in answers]


def test_every_response_carries_the_security_headers(client):
    for response in (client.get("/"), client.get("/healthz"), client.get("/no/such/page"), client.post("/v1/predict", data={"task": "x"})):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY" and response.headers["referrer-policy"] == "no-referrer"
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "'wasm-unsafe-eval'" in policy and "frame-ancestors 'none'" in policy


def test_the_api_docs_are_served_from_local_files(client):
    """No CDN and no external font: /docs renders offline (the browser test opens it with the network cut)."""
    import re

    docs = client.get("/docs")
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert docs.status_code == 200 and assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    policy = docs.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "http" not in policy
    redoc = client.get("/redoc")
    redoc_assets = re.findall(r'(?:src|href)="([^"]+)"', redoc.text)
    assert redoc.status_code == 200 and "/vendor/redoc/redoc.standalone.js" in redoc_assets and all(a.startswith("/") for a in redoc_assets)
    assert client.get("/vendor/redoc/redoc.standalone.js").status_code == 200 and "worker-src 'self' blob:" in redoc.headers["content-security-policy"]
    assert "fonts.googleapis" not in redoc.text and client.get("/vendor/swagger-ui/package.json").status_code == 404
    assert client.get("/vendor/redoc/package.json").status_code == 404


def test_an_internal_error_is_the_documented_json(monkeypatch):
    from vitalens.service import responses

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(responses, "decode_upload", broken)
    failing = TestClient(create_app(), raise_server_exceptions=False)
    response = failing.post("/v1/predict", files=_upload(PHOTOS[0]))
    assert response.status_code == 500 and response.json()["disclaimer"] == DISCLAIMER
    assert "RuntimeError" in response.json()["detail"] and "a bug" not in response.json()["detail"]
    assert response.headers["x-content-type-options"] == "nosniff" and "default-src 'self'" in response.headers["content-security-policy"]


def test_a_withheld_body_gets_408_and_half_open_connections_are_closed():
    """A real server: a client that sends the headers and part of the body, then stops, gets 408; one that
    never finishes its headers is disconnected (uvicorn alone would hold it for ever)."""
    import socket
    from urllib.parse import urlparse

    with local_server("--body-timeout", "1", "--keep-alive-timeout", "1") as base:
        address = urlparse(base)
        with socket.create_connection((address.hostname, address.port), timeout=60) as raw:
            raw.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                        b"Content-Length: 100000\r\n\r\n--b\r\n")
            answer = ""
            while "disclaimer" not in answer and (chunk := raw.recv(65536)):  # the headers and the body may come apart
                answer += chunk.decode(errors="replace")
        with socket.create_connection((address.hostname, address.port), timeout=60) as half_open:
            half_open.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\n")
            closed = half_open.recv(1024)
    assert answer.startswith("HTTP/1.1 408") and "did not arrive" in answer
    assert closed == b""


def test_each_served_model_card_is_a_rendered_page_and_the_app_links_to_it():
    from fastapi.testclient import TestClient

    from vitalens.service import create_app

    client = TestClient(create_app())
    page = client.get("/cards/hb-nails")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<table>" in page.text and "<h2>Evaluation</h2>" in page.text and "not a medical device" in page.text
    assert "card metadata (YAML)" in page.text and "<script" not in page.text
    assert page.text.count('<img src="data:image/svg+xml;base64,') == 1  # the Hb scale beside the card, inlined
    assert client.get("/cards/no-such-task").status_code == 404
    assert 'id="cards"' in client.get("/").text  # the footer the app fills with /cards/<task> links
