"""The serving world: bundles under onnxruntime, numpy and Pillow; never torch, never training code.

`load_predictor(bundle_or_None, task)` gives the predictor for a bundle's task, the class each task
declares (`Task.predictor`). Every predictor has `predict_image(rgb, image_id, sample=None, **population)
-> vitalens.results.Prediction`, `columns` (its own CSV columns, after the contract's four) and
`caveat` (how the model compares with the trivial baseline, printed beside every batch of estimates).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vitalens.bundle import Bundle, BundleError, load_bundle, shipped_bundle_path
from vitalens.data.samples import Sample
from vitalens.results import Prediction, refused, too_small
from vitalens.face_gate import face_gate
from vitalens.site_check import passes
from vitalens.tasks import TaskError, all_tasks, default_task, get_task


class Predictor(Protocol):
    """What every task's predictor offers the spine (CLI, API, batch jobs).

    Optional hooks: `pre_screen(rgb, image_id, sample) -> Prediction | None` refuses a photo of poor
    quality before the spine's site check; `validate_population(population)` raises ValueError for
    impossible demographics before any inference; `aggregate(predictions, population) -> dict | None`
    summarises several photos of one person (the API's `aggregate`); `predict_batch(items, **population)
    -> list[Prediction]` runs the model once for several screened (rgb, image_id, sample) (`predict_many`)."""

    bundle: Bundle  # the bundle it runs (its manifest holds the site check the spine applies)
    columns: tuple[str, ...]  # the task's own CSV columns, written after image_id, status, reasons, message
    display_columns: tuple[str, ...]  # the few of them worth a terminal table

    @property
    def caveat(self) -> str: ...

    def predict_image(self, rgb: np.ndarray, image_id: str, sample: Sample | None = None, **population: Any) -> Prediction: ...


def predictor_for(bundle: Bundle, options: dict[str, Any] | None = None) -> Any:
    """The predictor of the task the bundle says it is for; `options` are the task's predict options
    (`vitalens tasks --options`), as values or strings, checked by the task before the bundle is read."""
    try:
        task = get_task(bundle.task)
    except TaskError:
        raise BundleError(f"{bundle.path}: no runtime for task {bundle.task!r}; this vitalens serves {', '.join(all_tasks())}.") from None
    chosen = task.parse_options("predict", options or {})
    try:
        return task.predictor_class()(bundle, **chosen)
    except (KeyError, TypeError, ValueError, IndexError) as error:
        if isinstance(error, BundleError):
            raise
        raise BundleError(f"{bundle.path}: bundle.json lacks a field its {task.name} predictor needs, or holds the wrong type "
                          f"({type(error).__name__}: {error}); re-export the bundle.") from None


def load_predictor(model: str | Path | None = None, task: str | None = None, options: dict[str, Any] | None = None) -> Any:
    """The predictor for a bundle folder or .zip, or for the bundle shipped for `task` when no model is given."""
    if model is None:
        get_task(task or default_task())  # an unknown task name is its own error, not "not a bundle"
    bundle = load_bundle(model if model is not None else shipped_bundle_path(task or default_task()))
    return predictor_for(bundle, options)


def screen(predictor: Any, rgb: np.ndarray, image_id: str, sample: Sample | None = None) -> Prediction | None:
    """The spine's checks before any task runs: the image is big enough, the task's own photo-quality
    refusal if it has one (`pre_screen`: its tip is the more useful), (when the bundle carries a
    site check) it looks like a photo of the body site the model learned from, and (when it carries a
    face gate) no face fills it. None means go on."""
    tiny = too_small(rgb, image_id)
    if tiny is not None:
        return tiny
    pre_screen = getattr(predictor, "pre_screen", None)
    quality = pre_screen(rgb, image_id, sample) if pre_screen is not None else None
    if quality is not None:
        return quality
    check = predictor.bundle.manifest.get("site_check")
    if check is None:
        return face_gate(predictor.bundle, rgb, image_id)
    ok, score = passes(rgb, check)
    if ok:
        return face_gate(predictor.bundle, rgb, image_id)
    return refused(image_id, [f"not a {check['body_site']} photo like the ones this model learned from (site check {score:.2f} < {check['threshold']:.2f})"],
                   [check["tip"]], site_check_score=score)  # fmt: skip


def predict_one(predictor: Any, rgb: np.ndarray, image_id: str, sample: Sample | None = None, **population: Any) -> Prediction:
    """What every caller runs for one photo: the spine's screen, then the task's predictor."""
    return screen(predictor, rgb, image_id, sample) or predictor.predict_image(rgb, image_id, sample, **population)


def predict_many(predictor: Any, items: list[tuple[np.ndarray, str, Sample | None]], **population: Any) -> list[Prediction]:
    """`predict_one` for each (rgb, image_id, sample), in order: the screen photo by photo, then the photos
    it passes through the task's `predict_batch` hook when it has one (one model call for the batch, the
    same answers as photo by photo up to float noise), else `predict_image` one at a time."""
    results = [screen(predictor, rgb, image_id, sample) for rgb, image_id, sample in items]
    todo = [k for k, result in enumerate(results) if result is None]
    batch = getattr(predictor, "predict_batch", None)
    if batch is not None and len(todo) > 1:
        answers = batch([items[k] for k in todo], **population)
    else:
        answers = [predictor.predict_image(*items[k], **population) for k in todo]
    for k, answer in zip(todo, answers):
        results[k] = answer
    return results


__all__ = ["Bundle", "BundleError", "Predictor", "load_bundle", "load_predictor", "predict_many", "predict_one", "predictor_for", "screen", "shipped_bundle_path"]
