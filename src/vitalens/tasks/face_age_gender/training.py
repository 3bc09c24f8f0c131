"""One face training run, end to end: UTKFace -> fixed splits -> cached inputs -> trained model ->
validation and held-out predictions in `experiments/<run_name>/`.

The held-out split (`split_of`, 15 % by file-name hash) is only ever predicted, never trained on or
used to choose epochs; early stopping and temperature fitting use the validation split.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from vitalens.data.samples import Dataset
from vitalens.tasks.face_age_gender.data import GENDERS, load_utkface
from vitalens.backbones import count_parameters
from vitalens.tasks.face_age_gender.model import INPUT_SIZE, build_face_model, save_face_model
from vitalens.tasks.face_age_gender.pixels import cached_face_pixels, cached_stem_features
from vitalens.tasks.face_age_gender.trainer import FaceTrainer, FaceTrainingConfig, count_trainable, predict_arrays

SPLITS = ("train", "validation", "test")


def run_face_training(data_dir: str | Path, backbone: str, run_dir: str | Path, config: FaceTrainingConfig,
                      limit: int | None = None, cache_dir: Path | None = None, progress: bool = True) -> Path:  # fmt: skip
    """Train `backbone` and write model.pt + model.json (`save_face_model`), training.json and
    predictions_{validation,test}.csv to run_dir."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    dataset = load_face_dataset(data_dir, limit)
    split = np.array([s.attributes["split"] for s in dataset.samples])
    ages = np.array(dataset.target("age"), dtype=np.float32)
    genders = np.array([GENDERS.index(g) for g in dataset.target("gender")], dtype=np.int64)
    cache_kwargs = _cache_kwargs(cache_dir)
    pixels = cached_face_pixels(dataset, INPUT_SIZE, progress=progress, **cache_kwargs)
    model = build_face_model(backbone)
    inputs, train_views = _inputs(model, backbone, dataset, pixels, split, cache_kwargs)
    started = time.monotonic()
    trainer = FaceTrainer(model, config, checkpoint_dir=run_dir / "checkpoints", progress=progress)
    trainer.fit(train_views, ages[split == "train"], genders[split == "train"],
                inputs[split == "validation"], ages[split == "validation"], genders[split == "validation"])  # fmt: skip
    save_face_model(model, backbone, run_dir / "model.pt")
    for name in ("validation", "test"):
        logits, predicted_age = predict_arrays(model, inputs[split == name])
        _predictions_frame(dataset, split == name, logits, predicted_age).to_csv(run_dir / f"predictions_{name}.csv", index=False)
    info = {
        "backbone": backbone, "config": asdict(config), "history": trainer.history,
        "parameters": count_parameters(model), "trainable_parameters": count_trainable(model),
        "train_seconds": round(time.monotonic() - started, 1), "dataset": dataset.summary(),
        "split_sizes": {name: int((split == name).sum()) for name in SPLITS},
        "torch_threads": torch.get_num_threads(),
    }  # fmt: skip
    (run_dir / "training.json").write_text(json.dumps(info, indent=2))
    return run_dir


def _cache_kwargs(cache_dir: Path | None) -> dict:
    """None keeps the caches' default folder (vitalens.tasks.face_age_gender.pixels.DEFAULT_CACHE_DIR)."""
    return {"cache_dir": cache_dir} if cache_dir is not None else {}


def load_face_dataset(data_dir: str | Path, limit: int | None = None) -> Dataset:
    """UTKFace, or with `limit` an evenly spaced subset of that many images (smoke runs)."""
    dataset = load_utkface(data_dir)
    if limit:
        dataset = dataset.subset(list(range(0, len(dataset), max(1, len(dataset) // limit)))[:limit])
    return dataset


def _inputs(model, backbone, dataset, pixels, split, cache_kwargs):
    """What the trainable part eats: pixels for end-to-end trunks, cached stem features for frozen stems."""
    train_pixels = pixels[split == "train"]
    if not model.cache_stem or not any(True for _ in model.stem.parameters()):
        return pixels, [train_pixels, train_pixels[:, :, ::-1]]
    stem_size = sum(p.numel() for p in model.stem.parameters())
    tag = f"{backbone}-{stem_size}-" + hashlib.sha1("\n".join(s.image_id for s in dataset.samples).encode()).hexdigest()[:12]
    everything = cached_stem_features(model, pixels, tag, **cache_kwargs)
    mirrored = cached_stem_features(model, train_pixels, tag + "-train", mirror=True, **cache_kwargs)
    return everything, [everything[split == "train"], mirrored]


def _predictions_frame(dataset, mask, logits, predicted_age) -> pd.DataFrame:
    from vitalens.tasks.face_age_gender.evaluation import truth_frame

    frame = truth_frame([s for s, keep in zip(dataset.samples, mask) if keep]).assign(predicted_age=predicted_age)
    return frame.assign(logit_male=logits[:, 0], logit_female=logits[:, 1])


def finish_face_run(run_dir: str | Path, data_dir: str | Path, n_boot: int = 1000) -> dict:
    """Evaluate a trained run on the held-out split and export its ONNX graphs (bundle and seed-compat)
    beside it, with how far each is from torch; `vitalens export` makes the bundle from them."""
    from vitalens.tasks.face_age_gender.evaluation import evaluate_face_run
    from vitalens.tasks.face_age_gender.model import load_face_model
    from vitalens.tasks.face_age_gender.export import export_face_onnx, onnx_torch_gap

    run_dir = Path(run_dir)
    report = evaluate_face_run(run_dir, data_dir, n_boot=n_boot)
    model, _ = load_face_model(run_dir / "model.pt")
    gaps = {}
    for compat, name in ((False, "model.onnx"), (True, "model_compat.onnx")):
        gaps[name] = onnx_torch_gap(model, export_face_onnx(model, run_dir / name, compat=compat), compat=compat)
    report["onnx_max_abs_gap_vs_torch"] = gaps
    report["full_network_vs_training_inputs"] = full_network_gap(model, run_dir, data_dir)
    (run_dir / "report.json").write_text(json.dumps(report, indent=2))
    return report


def full_network_gap(model, run_dir: Path, data_dir: str | Path, n: int = 256) -> dict:
    """How far the shipped path (JPEG -> pixels -> whole float32 network) is from the run's predictions,
    which for frozen stems came from float16 cached features: checked on the first n held-out images."""
    predicted = pd.read_csv(run_dir / "predictions_test.csv").head(n)
    by_id = {s.image_id: s for s in load_utkface(data_dir).samples}
    subset = Dataset("utkface-check", Path(data_dir), [by_id[i] for i in predicted["image_id"]])
    logits, ages = predict_arrays(model, cached_face_pixels(subset, INPUT_SIZE, cache_dir=None, progress=False))
    flips = logits.argmax(axis=1) != predicted[["logit_male", "logit_female"]].to_numpy().argmax(axis=1)
    return {"n": len(predicted), "max_age_gap_years": float(np.abs(ages - predicted["predicted_age"]).max()), "gender_flips": int(flips.sum())}


def run_face_ensemble(member_run_dirs: list[str | Path], data_dir: str | Path, run_dir: str | Path, mirror: bool = False,
                      limit: int | None = None, cache_dir: Path | None = None) -> Path:  # fmt: skip
    """Average trained runs (and with `mirror`, each one's prediction on the mirrored image) into one
    model and predict validation and held-out images through the whole float32 network from pixels;
    writes the same files as run_face_training."""
    from vitalens.tasks.face_age_gender.model import MIRROR_SUFFIX, FaceEnsemble, load_face_model

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    members = [load_face_model(Path(d) / "model.pt") for d in member_run_dirs]
    ensemble = FaceEnsemble([m for m, _ in members], mirror=mirror).eval()
    name = "+".join(b for _, b in members) + (MIRROR_SUFFIX if mirror else "")
    save_face_model(ensemble, name, run_dir / "model.pt")
    dataset = load_face_dataset(data_dir, limit)
    split = np.array([s.attributes["split"] for s in dataset.samples])
    pixels = cached_face_pixels(dataset, INPUT_SIZE, progress=False, **_cache_kwargs(cache_dir))
    for part in ("validation", "test"):
        logits, predicted_age = predict_arrays(ensemble, pixels[split == part])
        _predictions_frame(dataset, split == part, logits, predicted_age).to_csv(run_dir / f"predictions_{part}.csv", index=False)
    members_info = [json.loads((Path(d) / "training.json").read_text()) for d in member_run_dirs]
    info = {"backbone": name, "members": [str(d) for d in member_run_dirs], "parameters": count_parameters(ensemble),
            "trainable_parameters": 0, "history": [], "member_training": members_info,
            "split_sizes": {part: int((split == part).sum()) for part in SPLITS}}  # fmt: skip
    (run_dir / "training.json").write_text(json.dumps(info, indent=2))
    return run_dir
