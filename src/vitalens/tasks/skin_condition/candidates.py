"""The pieces of a skin run beside the phased fine-tune: the depth-probe candidate (with its out-of-fold
estimate), the frozen Lite0 + logistic baseline, the lighting head of either candidate and the distilled
student. Each is scored on the validation split only; the held-out split is predicted, never chosen on.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from vitalens.evaluation.metrics import fit_temperature
from vitalens.tasks.skin_condition.artifacts import cached, progress_log, write_predictions
from vitalens.tasks.skin_condition.degradations import degrade_each
from vitalens.tasks.skin_condition.fitting import SkinTrainingConfig
from vitalens.tasks.skin_condition.lighting import lighting_label
from vitalens.tasks.skin_condition.network import SkinNet, save_skin_model
from vitalens.tasks.skin_condition.phases import fit_head, lower_features, top_outputs, train_top
from vitalens.tasks.skin_condition.probe import SkinProbe, fit_probe_heads, fit_probe_lighting, out_of_fold_logits, probe_features, probe_outputs
from vitalens.tasks.skin_condition.split import pixels_at, train_validation_folds
from vitalens.tasks.skin_condition.typicality import fit_typicality

STUDENT_SIZE = 128
LIGHTING_TRAIN_DEGRADED = 400


def sigmoid_of(lighting_logit, embeddings: np.ndarray) -> np.ndarray:
    """P(good lighting) from a model's lighting-logit function of pooled features."""
    with torch.no_grad():
        return expit(lighting_logit(torch.from_numpy(embeddings).float()).numpy())


def depth_probe(pixels, frame, y, tr, va, te, classes, cache, config, log) -> dict:
    """The depth probe (frozen trunks, several depths, orientation views; `vitalens.tasks.skin_condition.probe`):
    pooled features of every photo in every view cached once, logistic heads per trunk, its lighting head."""
    model = SkinProbe(len(classes), config.probe_backbones, config.probe_size, depth_rule=config.probe_depth_rule)
    started = time.monotonic()
    features = cached(cache / f"probe_features_{'_'.join(config.probe_backbones)}_{config.probe_size}_{config.probe_depth_rule}.npy", lambda: probe_features(model, pixels, progress=progress_log(log, "depth-probe features")))
    timings = {"probe_features_s": time.monotonic() - started}
    started = time.monotonic()
    fit_probe_heads(model, features[:, tr], y[tr], config.probe_c)
    timings["probe_heads_s"] = time.monotonic() - started
    typicality = fit_typicality(model.typicality, features[:, tr].mean(axis=0), features[:, va].mean(axis=0))
    logits, _ = probe_outputs(model, features)
    log(f"depth probe ({', '.join(config.probe_backbones)}): validation top-1 {np.mean(logits[va].argmax(1) == y[va]):.3f}; "
        f"features {timings['probe_features_s']:.0f} s, heads {timings['probe_heads_s']:.0f} s")  # fmt: skip
    embedding = lambda key, idx, images: (cached(cache / f"probe_{key}_{config.probe_size}_{config.probe_depth_rule}.npy", lambda: probe_features(model, images)) if key.endswith("_degraded") else features[:, idx]).mean(axis=0)  # noqa: E731
    fit = lambda e, good: fit_probe_lighting(model, e, good)  # noqa: E731
    probability = lambda e: sigmoid_of(model.lighting_logit, e)  # noqa: E731
    lighting = fit_lighting(embedding, fit, probability, pixels, frame, tr, va, te, cache, config, log)
    teacher = [probe_outputs(model, features[v : v + 1, tr])[0] for v in (model.views.index("identity"), model.views.index("hflip"))]  # the student's two views
    probe = {"name": "depth probe", "model": model, "validation": logits[va], "test": logits[te], "lighting": lighting, "typicality": typicality,
             "teacher": teacher, "timings": timings}  # fmt: skip
    if config.probe_cv_folds:
        started = time.monotonic()
        probe["cross_validated"] = cross_validated(model, features, y, frame, config)
        timings["probe_cross_validation_s"] = time.monotonic() - started
        log(f"depth probe, out-of-fold over {config.probe_cv_folds} grouped folds of train + validation: top-1 "
            f"{np.mean(probe['cross_validated'][0].argmax(1) == y[probe['cross_validated'][1]]):.3f} ({timings['probe_cross_validation_s']:.0f} s)")  # fmt: skip
    return probe


def cross_validated(model, features, y, frame, config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log-probabilities, photo indices, fold of each) of the probe recipe out-of-fold over train + validation."""
    folds = train_validation_folds(y, frame["group"], frame["split"], config.probe_cv_folds, config.seed)
    fold_of = np.full(len(y), -1)
    for index, (_, scored) in enumerate(folds):
        fold_of[scored] = index
    pool = np.flatnonzero(fold_of >= 0)
    return out_of_fold_logits(model, features, y, folds, config.probe_c)[pool], pool, fold_of[pool]


def frozen_logistic_baseline(features, y, tr, va, log) -> dict:
    """Frozen ImageNet Lite0 features → standardised → logistic regression; C chosen on validation."""
    mean, std = features[tr].mean(0), features[tr].std(0) + 1e-6
    scaled = (features - mean) / std
    fits = {c: LogisticRegression(C=c, max_iter=300).fit(scaled[tr], y[tr]) for c in (0.01, 0.1, 1.0)}
    scores = {c: float(np.mean(m.predict(scaled[va]) == y[va])) for c, m in fits.items()}
    best = max(scores, key=scores.get)
    log(f"frozen Lite0 + logistic: validation top-1 by C {scores}")
    test_mask = np.ones(len(y), bool)
    test_mask[tr] = test_mask[va] = False
    return {"c": best, "validation": fits[best].decision_function(scaled[va]), "test": fits[best].decision_function(scaled[test_mask])}


def lighting_subset(tr: np.ndarray, config: SkinTrainingConfig) -> np.ndarray:
    """The training photos whose plain and degraded copies train the lighting heads."""
    rng = np.random.default_rng(config.seed)
    return np.sort(rng.choice(tr, min(LIGHTING_TRAIN_DEGRADED, len(tr)), replace=False))


def fit_lighting(embedding, fit, probability, pixels, frame, tr, va, te, cache, config, log) -> dict:
    """Fit a model's lighting head on plain and degraded photos and choose its threshold on validation.

    `embedding(key, photo_indices, pixels)` gives the model's pooled features (key names the cache: "train_lighting",
    "validation_calibrated", "test_calibrated" for plain photos, "<split>_degraded"), `fit(embeddings, good)`
    fits the head and `probability(embeddings)` gives P(good)."""
    subset = lighting_subset(tr, config)
    good = frame["lighting_good"].to_numpy()
    embeddings, labels, kinds = {}, {}, {}
    for name, idx, plain_key, seed in (("train", subset, "train_lighting", 1), ("validation", va, "validation_calibrated", 2), ("test", te, "test_calibrated", 3)):
        degraded, kinds[name] = degrade_each(pixels[idx], seed)
        embeddings[name] = np.concatenate([embedding(plain_key, idx, pixels[idx]), embedding(f"{name}_degraded", None, degraded)])
        labels[name] = np.concatenate([good[idx], [lighting_label(p) for p in degraded]])
    fit(embeddings["train"], labels["train"])
    p_good = {name: probability(e) for name, e in embeddings.items()}
    # Threshold on P(good) that maximises balanced accuracy on validation.
    candidates = np.linspace(0.05, 0.95, 91)
    def balanced(threshold, name="validation"):
        said, truth = p_good[name] >= threshold, labels[name] == 1
        return 0.5 * (said[truth].mean() + (~said[~truth]).mean())
    threshold = float(max(candidates, key=balanced))
    log(f"lighting head: validation balanced accuracy {balanced(threshold):.3f} at P(good) >= {threshold:.2f}")
    records = pd.DataFrame({"image_id": np.concatenate([frame["image_id"].to_numpy()[te]] * 2),
                            "degradation": ["none"] * len(te) + list(kinds["test"]),
                            "lighting_good_true": labels["test"], "lighting_good_prob": p_good["test"],
                            "fitzpatrick_group": np.concatenate([frame["fitzpatrick_group"].to_numpy()[te]] * 2),
                            "ita_group": np.concatenate([frame["ita_group"].to_numpy()[te]] * 2)})  # fmt: skip
    return {"threshold": threshold, "train_photos": int(len(labels["train"])), "train_good_fraction": float(labels["train"].mean()), "records": records,
            "test_plain": p_good["test"][: len(te)], "validation_plain": p_good["validation"][: len(va)]}  # fmt: skip


def distil(phased, teacher_logits, data_dir, frame, y, tr, va, te, classes, run_dir, config, log) -> dict:
    """Student: the phased architecture at STUDENT_SIZE px (one Lite0 pass, no views), inheriting the phased
    model's colour layer, trained (phases A and C) on the soft labels of the shipped model (`teacher_logits`:
    its outputs for the plain and for the mirrored training photos, each on its own; for the depth probe that
    is its heads on one view, not its four-view average)."""
    small = pixels_at(data_dir, frame, STUDENT_SIZE)
    cache = run_dir / "cache"
    student = SkinNet(len(classes), input_size=STUDENT_SIZE)
    student.calibration.load_state_dict(phased.calibration.state_dict())
    started = time.monotonic()
    views = [cached(cache / "student_train.npy", lambda: lower_features(student, small[tr])),
             cached(cache / "student_train_hflip.npy", lambda: lower_features(student, small[tr], flip="horizontal"))]  # fmt: skip
    val_lower = cached(cache / "student_validation.npy", lambda: lower_features(student, small[va]))
    test_lower = cached(cache / "student_test.npy", lambda: lower_features(student, small[te]))
    cache_seconds = time.monotonic() - started
    _, _, embeddings = top_outputs(student, views[0])
    fit_head(student, embeddings, y[tr], config.head_c)
    log("student phase C (distillation)")
    history = train_top(student, views, y[tr], val_lower, y[va], config, teacher_logits=teacher_logits, log=log)
    val_logits, _, val_embeddings = top_outputs(student, val_lower)
    temperature = fit_temperature(val_logits, y[va])
    typicality = fit_typicality(student.typicality, top_outputs(student, views[0])[2], val_embeddings)
    test_logits, _, _ = top_outputs(student, test_lower)
    write_predictions(run_dir / "predictions_test_student.csv", frame.iloc[te], test_logits, classes)
    save_skin_model(student, classes, temperature, run_dir / "student.pt")
    return {"input_size": STUDENT_SIZE, "history": history, "cache_s": cache_seconds, "temperature": temperature, "typicality": typicality}
