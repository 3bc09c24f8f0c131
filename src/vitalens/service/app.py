"""The FastAPI application: /v1 API, /healthz, and the browser app with the bundles it runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, Optional, Sequence

from fastapi import FastAPI, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartParser

import vitalens
from vitalens import DISCLAIMER
from vitalens.bundle import CARD_FILE
from vitalens.runtime import Bundle, BundleError, load_bundle, predictor_for, shipped_bundle_path
from vitalens.service.app_files import ORT_WEB_FILES, ort_web_dir, package_dir
from vitalens.service.docs import mount_cards, mount_docs
from vitalens.service.errors import install_error_handlers
from vitalens.service.headers import SecurityHeaders
from vitalens.service.limits import BodySizeLimit, ServiceLimits
from vitalens.service.responses import respond
from vitalens.tasks import TaskError, all_tasks, default_task, get_task

API_VERSION = "v1"


def shipped_tasks() -> list[str]:
    """Registered tasks with a bundle inside the package."""
    return [t for t in all_tasks() if (shipped_bundle_path(t) / "bundle.json").is_file()]


def served_bundles(bundle_dirs: Sequence[str | Path] = ()) -> dict[str, Bundle]:
    """The shipped bundles, each replaced by a bundle in `bundle_dirs` for the same task (e.g. a newly
    trained one, or the tests' fixture); a bundle in `bundle_dirs` may also add a task nothing ships."""
    bundles = {task: load_bundle(shipped_bundle_path(task)) for task in shipped_tasks()}
    for folder in bundle_dirs:
        bundle = load_bundle(folder)
        try:
            get_task(bundle.task)
        except TaskError:
            raise BundleError(f"{folder}: a {bundle.task!r} bundle, and this vitalens serves only {', '.join(all_tasks())}.") from None
        bundles[bundle.task] = bundle
    return bundles


class _HeaderedFastAPI(FastAPI):
    """FastAPI whose outermost layer adds the security headers: user middleware sits inside Starlette's
    error middleware, so a 500 would otherwise go out without them."""

    def build_middleware_stack(self):
        return SecurityHeaders(super().build_middleware_stack())


def create_app(limits: ServiceLimits = ServiceLimits(), bundle_dirs: Sequence[str | Path] = ()) -> FastAPI:
    # Starlette spools an upload above 1 MB to a temporary file; keep every upload in memory instead
    # (BodySizeLimit bounds the request, so memory stays bounded too). Process-wide, which is what
    # `vitalens serve` wants.
    MultiPartParser.spool_max_size = limits.max_request_bytes
    bundles = served_bundles(bundle_dirs)
    predictors = {task: predictor_for(bundle) for task, bundle in bundles.items()}
    inference_slots = asyncio.Semaphore(limits.max_concurrent)

    app = _HeaderedFastAPI(
        title="vitalens",
        version=vitalens.__version__,
        description=f"Screening estimates from smartphone photos. {DISCLAIMER}",
        docs_url=None,  # served by vitalens.service.docs from local files, so it works offline
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_request_bytes, body_timeout_s=limits.body_timeout_s)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": vitalens.__version__, "api_version": API_VERSION, "tasks": sorted(predictors),
                "browser_runtime": ort_web_dir() is not None, "disclaimer": DISCLAIMER}

    @app.get(f"/{API_VERSION}/models")
    def models() -> dict[str, Any]:
        """Every served bundle with its manifest, its model card and where the browser fetches it."""
        listed = []
        for task, bundle in bundles.items():
            listed.append({
                "task": task,
                "manifest": bundle.manifest,
                "card": bundle.card(),
                "caveat": predictors[task].caveat,
                "browser_files": [f"/bundles/{task}/{name}" for name in bundle.files(browser=True)],
            })
        return {"models": listed, "disclaimer": DISCLAIMER}

    @app.post(f"/{API_VERSION}/predict")
    async def predict(
        image: Annotated[list[UploadFile], File(description="one or more photos of one person (multipart field 'image', repeatable)")],
        task: Annotated[str, Form(description="task name, see GET /v1/models")] = default_task(),
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
            body = await run_in_threadpool(respond, predictors[task], uploads, population, limits)
        return {"api_version": API_VERSION, "task": task, **body, "caveat": predictors[task].caveat, "disclaimer": DISCLAIMER}

    mount_docs(app)
    mount_cards(app, bundles)
    _mount_browser_app(app, bundles)
    return app


def _mount_browser_app(app: FastAPI, bundles: dict[str, Bundle]) -> None:
    @app.get("/bundles/index.json", include_in_schema=False)
    def bundle_index() -> dict[str, Any]:
        """What the browser app can offer and the service worker caches: each served task's files (not under
        /v1, so it is cached for offline use)."""
        return {
            "tasks": {task: [f"/bundles/{task}/{name}" for name in bundle.files(browser=True)] for task, bundle in bundles.items()},
            "modes": {task: get_task(task).browser_mode for task in bundles if get_task(task).browser_mode},
        }

    @app.get("/bundles/{task}/{name}", include_in_schema=False)
    def bundle_file(task: str, name: str):
        if task not in bundles or name not in bundles[task].files() + [CARD_FILE]:
            raise HTTPException(404, f"/bundles/{task}/{name}: not a file of a bundle served here; see /bundles/index.json")
        return FileResponse(bundles[task].path / name)

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

    app.mount("/", StaticFiles(directory=package_dir("webapp"), html=True), name="app")
