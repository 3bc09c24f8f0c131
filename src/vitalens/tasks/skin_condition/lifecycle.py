"""The skin task's verbs for the spine (vitalens.runs): train, evaluate, export.

train   the whole skin run (`training.run_skin_training`: split, both candidates, lighting heads, student)
        and its held-out report (`finish.finish_skin_run`) into job.out; option `epochs` (phase C).
evaluate a bundle (the shipped one, or option `model`) on the held-out split through the torch-free
        runtime (`heldout.evaluate_bundle`); option `limit` for smoke runs.
export  a trained run's bundle (`finish.export_skin_run`, through vitalens.bundle.write_bundle).

The training world is imported inside train and export, so evaluate never loads torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vitalens.runs import Job, read_config
from vitalens.tasks.skin_condition.heldout import evaluate_bundle


def training_config(options: dict[str, Any]) -> Any:
    """The recipe of `vitalens train`: the documented defaults, phase-C epochs from option `epochs` when given."""
    from vitalens.tasks.skin_condition.fitting import SkinTrainingConfig

    epochs = options.get("epochs")
    return SkinTrainingConfig() if epochs is None else SkinTrainingConfig(epochs=epochs)


def train(job: Job) -> dict[str, Any]:
    from vitalens.tasks.skin_condition.finish import finish_skin_run
    from vitalens.tasks.skin_condition.training import run_skin_training

    run_skin_training(job.data, job.out, training_config(job.options))
    return finish_skin_run(job.out)


def evaluate(job: Job) -> dict[str, Any]:
    return evaluate_bundle(job)


def export(job: Job) -> Path:
    """job.data is the run folder, job.out the bundle folder; the run's photos (config.yaml's data) draw the gallery."""
    from vitalens.tasks.skin_condition.finish import export_skin_run

    data = read_config(job.data).get("data")
    return export_skin_run(job.data, job.out, data)
