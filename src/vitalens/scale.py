"""`--engine ray`: `predict`'s batched predictor on a Ray cluster (Ray Data, an actor pool), and the
independent pieces of `evaluate` and `train` (cross-validation folds) as Ray tasks (`map_tasks`).

Ray Data reads the listing (one item per photo: its path and, for a manifest, its boxes and labels);
`map_batches` sends batches to a pool of actors, each of which loads the bundle once and runs
`predict.score_batch`, the function the in-process path runs; the driver takes the rows back in
listing order (`preserve_order`) and writes them with the same `PredictionWriter`, so the rows, the
formats and resuming are those of the sequential path. Photos must sit where every worker can read
them (a shared file system or a mount). Ray is imported only here (`pip install vitalens[scale]`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
from pathlib import Path
from typing import Any, Iterator

from vitalens.bundle.format import ORT_THREADS_VARIABLE
from vitalens.data import Dataset
from vitalens.data.samples import Sample
from vitalens.predict import decode_or_error, pending, problem_rows, score_batch
from vitalens.results import Prediction, jsonable


def sample_record(sample: Sample, image_id: str) -> str:
    return json.dumps(jsonable({**dataclasses.asdict(sample), "image_path": str(sample.image_path), "listed_id": image_id}))


def sample_from_record(record: str) -> tuple[Sample, str]:
    fields = json.loads(record)
    image_id = fields.pop("listed_id")
    fields["boxes"] = {name: [tuple(box) for box in boxes] for name, boxes in fields["boxes"].items()}
    return Sample(**{**fields, "image_path": Path(fields["image_path"])}), image_id


class Scorer:
    """One Ray actor: the bundle loaded once, then batch after batch through `score_batch`."""

    def __init__(self, model: str, options: dict[str, Any], population: dict[str, Any], ort_threads: int):
        os.environ[ORT_THREADS_VARIABLE] = str(ort_threads)
        from vitalens.runtime import load_predictor

        self.predictor, self.population = load_predictor(model, None, options), population

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        listed = [sample_from_record(record) for record in batch["sample"]]
        predictions = score_batch(self.predictor, listed, [decode_or_error(sample) for sample, _ in listed], self.population)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kB
        return {"prediction": np.array([json.dumps(jsonable(dataclasses.asdict(p))) for p in predictions], dtype=object),
                "worker": np.array([os.getpid()] * len(predictions)), "worker_peak_mb": np.array([peak_mb] * len(predictions))}  # fmt: skip


def start_ray(workers: int, address: str | None) -> None:
    """Join the cluster at `address`, or start a local one with `workers` CPUs (once per process)."""
    import ray

    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)


def ray_predictions(dataset: Dataset, model: str | Path, options: dict[str, Any], population: dict[str, Any], skip: frozenset[str] = frozenset(),
                    workers: int = 2, address: str | None = None, batch_size: int = 8, stats: dict | None = None) -> Iterator[Prediction]:  # fmt: skip
    """The rows `predict.iter_predictions` gives, computed by `workers` Ray actors, in listing order;
    `stats`, when given, gets each worker's peak resident memory (MB) by process id."""
    import ray

    start_ray(workers, address)
    todo = pending(dataset, skip)
    if todo:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        listing = ray.data.from_items([{"sample": sample_record(sample, image_id)} for sample, image_id in todo])
        cores = max(1, int(ray.cluster_resources().get("CPU", workers)) // workers)
        scored = listing.map_batches(Scorer, fn_constructor_args=(str(model), options, population, cores), batch_size=batch_size,
                                     concurrency=workers, num_cpus=1, batch_format="numpy")  # fmt: skip
        for row in scored.iter_rows():
            if stats is not None:
                stats.setdefault("worker_peak_mb", {})[int(row["worker"])] = float(row["worker_peak_mb"])
            yield Prediction(**json.loads(row["prediction"]))
    yield from problem_rows(dataset, skip)


def map_tasks(function: Any, arguments: list[tuple], engine: str = "local", workers: int = 2, address: str | None = None) -> list:
    """[function(*args) for args in arguments], here or as Ray tasks of one CPU each. `function` must be
    importable (module level); an argument object shared by several calls is put in the object store once."""
    if engine == "local":
        return [function(*args) for args in arguments]
    if engine != "ray":
        raise ValueError(f"engine {engine!r}: choose local or ray")
    import ray

    start_ray(workers, address)
    stored: dict[int, Any] = {}

    def put(value: Any) -> Any:
        if isinstance(value, (str, int, float, bool, type(None))):
            return value
        if id(value) not in stored:
            stored[id(value)] = ray.put(value)
        return stored[id(value)]

    remote = ray.remote(num_cpus=1)(function)
    return ray.get([remote.remote(*(put(value) for value in args)) for args in arguments])
