"""The FastAPI application: /v1 API, /healthz, and the browser app with the bundles it runs."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Optional

from fastapi import FastAPI, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartParser

import vitalens
from vitalens import DISCLAIMER
from vitalens.runtime import PREDICTORS, load_bundle, shipped_bundle_path
from vitalens.service.app_files import ORT_WEB_FILES, ort_web_dir, package_dir
from vitalens.service.errors import install_error_handlers
from vitalens.service.limits import BodySizeLimit, ServiceLimits
from vitalens.service.responses import RESPONDERS
from vitalens.service.uploads import decode_upload

API_VERSION = "v1"


def shipped_tasks() -> list[str]:
    """Tasks with a runtime, a response shape and a bundle inside the package."""
    return [t for t in PREDICTORS if t in RESPONDERS and (shipped_bundle_path(t) / "bundle.json").is_file()]


def create_app(limits: ServiceLimits = ServiceLimits()) -> FastAPI:
    # Starlette spools an upload above 1 MB to a temporary file; keep every upload in memory instead
    # (BodySizeLimit bounds the request, so memory stays bounded too). Process-wide, which is what
    # `vitalens serve` wants.
    MultiPartParser.spool_max_size = limits.max_request_bytes
    bundles = {task: load_bundle(shipped_bundle_path(task)) for task in shipped_tasks()}
    predictors = {task: PREDICTORS[task](bundle) for task, bundle in bundles.items()}
    inference_slots = asyncio.Semaphore(limits.max_concurrent)

    app = FastAPI(
        title="vitalens",
        version=vitalens.__version__,
        description=f"Screening estimates from smartphone photos. {DISCLAIMER}",
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_request_bytes)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": vitalens.__version__, "api_version": API_VERSION, "tasks": sorted(predictors),
                "browser_runtime": ort_web_dir() is not None, "disclaimer": DISCLAIMER}

    @app.get(f"/{API_VERSION}/models")
    def models() -> dict[str, Any]:
        """Every shipped bundle with its manifest, its model card and where the browser fetches it."""
        listed = []
        for task, bundle in bundles.items():
            files = [bundle.manifest[stage]["file"] for stage in ("model", "detector") if stage in bundle.manifest]
            listed.append({
                "task": task,
                "manifest": bundle.manifest,
                "card": bundle.card(),
                "caveat": predictors[task].caveat,
                "browser_files": [f"/bundles/{task}/{name}" for name in ["bundle.json", *files]],
            })
        return {"models": listed, "disclaimer": DISCLAIMER}

    @app.post(f"/{API_VERSION}/predict")
    async def predict(
        image: Annotated[list[UploadFile], File(description="one or more photos of one person (multipart field 'image', repeatable)")],
        task: Annotated[str, Form(description="task name, see GET /v1/models")] = "hb-nails",
        age_years: Annotated[Optional[float], Form(description="age in years, for the WHO band")] = None,
        sex: Annotated[Optional[str], Form(description="female or male, for the WHO band")] = None,
        pregnancy_trimester: Annotated[Optional[int], Form(description="1, 2 or 3 if pregnant")] = None,
        altitude_m: Annotated[Optional[float], Form(description="elevation of residence in metres")] = None,
        smoking: Annotated[Optional[str], Form(description="smoker or non-smoker")] = None,
        cigarettes_per_day: Annotated[Optional[float], Form(description="cigarettes per day")] = None,
    ) -> dict[str, Any]:
        """Estimates, intervals, quality flags, per-region boxes and the WHO 2024 interpretation."""
        if task not in predictors:
            raise HTTPException(422, f"task {task!r} is not served here; choose one of {sorted(predictors)}.")
        if len(image) > limits.max_images:
            raise HTTPException(413, f"{len(image)} images in one request; the limit is {limits.max_images}.")
        population = {"age_years": age_years, "sex": sex or None, "pregnancy_trimester": pregnancy_trimester,
                      "altitude_m": altitude_m, "smoking": smoking or None, "cigarettes_per_day": cigarettes_per_day}
        uploads = [(upload.filename or f"image {i + 1}", await upload.read()) for i, upload in enumerate(image)]
        async with inference_slots:
            body = await run_in_threadpool(_predict, predictors[task], task, uploads, population, limits)
        return {"api_version": API_VERSION, "task": task, **body, "caveat": predictors[task].caveat, "disclaimer": DISCLAIMER}

    _mount_browser_app(app)
    return app


def _predict(predictor, task: str, uploads: list[tuple[str, bytes]], population: dict[str, Any], limits: ServiceLimits) -> dict:
    images = [(name, decode_upload(data, name, limits)) for name, data in uploads]
    return RESPONDERS[task](predictor, images, population)


def _mount_browser_app(app: FastAPI) -> None:
    @app.get("/vendor/onnxruntime-web/{name}", include_in_schema=False)
    def ort_web(name: str):
        folder = ort_web_dir()
        if name not in ORT_WEB_FILES:
            raise HTTPException(404, f"{name}: not part of the app's onnxruntime-web files")
        if folder is None:
            raise HTTPException(404, "onnxruntime-web is not installed next to this vitalens: run `npm ci` in the repository (or `make app`).")
        return FileResponse(folder / name)

    @app.get("/rules/{name}", include_in_schema=False)
    def rules(name: str):
        path = package_dir("rules") / name
        if path.suffix != ".json" or path.name != name or not path.is_file():
            raise HTTPException(404, f"{name}: no such rules file")
        return FileResponse(path)

    app.mount("/bundles", StaticFiles(directory=package_dir("bundles")), name="bundles")
    app.mount("/", StaticFiles(directory=package_dir("webapp"), html=True), name="app")
