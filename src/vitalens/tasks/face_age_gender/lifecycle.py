"""The face-age-gender verbs of `vitalens train`, `evaluate` and `export` (vitalens.runs: a Job in,
a report or a bundle out), so the CLI knows nothing about faces.

`train` fits one backbone on UTKFace's training split and writes the run folder with its held-out
report and ONNX graphs; `export` makes a bundle of such a run; `evaluate` scores a bundle (the shipped
one unless `model` names another) on the fixed held-out split through the serving runtime. Training
and export import torch, lazily, inside the functions; evaluation never imports it.
"""

from __future__ import annotations

import json
from pathlib import Path

from vitalens.runs import Job, refuse_foreign_model
from vitalens.tasks.spec import TaskError

SAVED_FILES = ("model.pt", "model.json", "model.onnx", "model_compat.onnx")  # what a face train run holds named model.*


def train(job: Job) -> dict:
    """One backbone, early-stopped on the validation split, then evaluated on the held-out split, into
    job.out. A backbone named "NAME:mirror" trains NAME into job.out/member and makes job.out the
    mirror-averaged model."""
    from vitalens.tasks.face_age_gender.model import MIRROR_SUFFIX
    from vitalens.tasks.face_age_gender.trainer import recommended_config
    from vitalens.tasks.face_age_gender.training import finish_face_run, run_face_ensemble, run_face_training

    backbone, limit, epochs = job.options["backbone"], job.options["limit"], job.options["epochs"]
    cache_dir = Path(job.options["cache_dir"]) if job.options["cache_dir"] else None
    base = backbone.removesuffix(MIRROR_SUFFIX)
    if "+" in base:
        raise TaskError(f"backbone {backbone}: ensembles are not trained as one; train each member, "
                        "then combine the runs with vitalens.tasks.face_age_gender.training.run_face_ensemble.")  # fmt: skip
    mirror = base != backbone
    config = recommended_config(base, epochs=epochs)
    trained = run_face_training(job.data, base, job.out / "member" if mirror else job.out, config, limit=limit, cache_dir=cache_dir,
                                progress=job.show_progress)  # fmt: skip
    if mirror:
        run_face_ensemble([trained], job.data, job.out, mirror=True, limit=limit, cache_dir=cache_dir)
    return finish_face_run(job.out, job.data)


def export(job: Job) -> Path:
    """bundle.json, model.onnx and MODEL_CARD.md in job.out from the run folder job.data and its held-out report."""
    from vitalens.tasks.face_age_gender.export import write_face_bundle
    from vitalens.tasks.face_age_gender.model import load_face_model

    run_dir = Path(job.data)
    if not (run_dir / "model.pt").is_file():
        refuse_foreign_model(run_dir, "model.pt as a weights-only state dict", SAVED_FILES)
    for name in ("model.pt", "report.json"):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir / name}: missing; export a folder written by `vitalens train` (an evaluation has no model to export).")
    model, backbone = load_face_model(run_dir / "model.pt")
    return write_face_bundle(model, backbone, json.loads((run_dir / "report.json").read_text()), job.out)


def evaluate(job: Job) -> dict:
    """The bundle on every held-out UTKFace image, into job.out; with `card`, rewrite that bundle's MODEL_CARD.md."""
    from vitalens.tasks.face_age_gender.card import write_face_model_card
    from vitalens.tasks.face_age_gender.evaluation import evaluate_face_bundle

    card, limit = job.options["card"], job.options["limit"]
    if card and limit:
        raise TaskError("card=true with limit would put a smoke run's numbers in the model card; drop one of them.")
    report = evaluate_face_bundle(job.options["model"], job.data, job.out, limit=limit, progress=job.show_progress)
    if card:
        report["model_card"] = str(write_face_model_card(report["model"]["bundle"], report))
        (job.out / "report.json").write_text(json.dumps(report, indent=2))
    return report
