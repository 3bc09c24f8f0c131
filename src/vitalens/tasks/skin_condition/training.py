"""One skin training run, end to end: Fitzpatrick17k → near-duplicate groups → fixed held-out split →
two candidates, each with its lighting head, photo check (`vitalens.tasks.skin_condition.typicality`) and temperature — the phased fine-tune (phases A-C-B, class
weights vs the oversampling ablation) and the depth probe (`vitalens.tasks.skin_condition.probe`) → the one with
the better validation top-1 ships (model.pt, predictions_*.csv), the other is kept beside it
(model_<name>.pt, predictions_*_<name>.csv) → distilled student → all in `experiments/<run>/`.

Phases run A → C → B: phase B (the colour layer) is the only one that needs backprop through the whole
network, so it runs last with the top frozen, and one cached pass of the frozen lower network serves
the frozen baseline, phase A and phase C (see `vitalens.tasks.skin_condition.phases`).

The held-out test split (1/6 of the photos, stratified by diagnosis, whole near-duplicate groups) is
only ever predicted: choices (C of the baseline, epochs, class weights vs oversampling, which candidate
ships, temperature, lighting threshold) are made on the validation part (1/6 of the rest).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from vitalens.tasks.skin_condition.data import load_fitzpatrick17k
from vitalens.tasks.skin_condition.evaluation import candidate_suffix
from vitalens.evaluation.splits import assert_no_leakage, stratified_group_holdout, stratified_grouped_folds
from vitalens.evaluation.metrics import fit_temperature
from vitalens.tasks.skin_condition.network import SkinNet, save_skin_model
from vitalens.tasks.skin_condition.pixels import DEFAULT_CACHE_DIR, load_skin_pixels
from vitalens.tasks.skin_condition.probe import SkinProbe, fit_probe_heads, fit_probe_lighting, out_of_fold_logits, probe_features, probe_outputs
from vitalens.regions.centre_crop import centre_crop_resized
from vitalens.tasks.skin_condition.phases import (
    SkinTrainingConfig, capped_oversampling, fit_head, fit_lighting_head, lower_features, top_outputs, train_calibration, train_top,
)  # fmt: skip
from vitalens.tasks.skin_condition.typicality import fit_typicality
from vitalens.tasks.skin_condition.degradations import degrade_each
from vitalens.tasks.skin_condition.duplicates import DEFAULT_MAX_DISTANCE, DEFAULT_MIN_COSINE, near_duplicate_groups
from vitalens.tasks.skin_condition.lighting import lighting_label
from vitalens.tasks.skin_condition.tone import ita_group, measure_ita

TEST_PARTS = 6  # held-out test = 1 of 6 stratified grouped folds (~16.7 %)
VALIDATION_PARTS = 6  # validation = 1 of 6 folds of the rest (~13.9 % of all)
SPLIT_SEED = 0
TEACHER_SIZE, STUDENT_SIZE = 192, 128
# The frozen trunks and layers whose features link near-copies before splitting (fixed, so the split does
# not move when the depth probe's design does).
LINK_BACKBONES, LINK_SIZE, LINK_DEPTH_RULE = ("efficientnet_lite0", "efficientnet_lite2"), 192, "every_third_from_middle"
LIGHTING_TRAIN_DEGRADED = 400


def prepare_split(data_dir: str | Path, size: int = TEACHER_SIZE, cache_dir: Path | None = DEFAULT_CACHE_DIR) -> tuple[pd.DataFrame, np.ndarray, list, dict]:
    """One row per usable photo (id, label, groups, split, audit attributes, lighting label), its pixels, the problems, summary."""
    dataset = load_fitzpatrick17k(data_dir)
    loaded = load_skin_pixels(dataset, size, cache_dir)
    samples = loaded.dataset.samples
    link_pixels = loaded.pixels if size == LINK_SIZE else load_skin_pixels(dataset, LINK_SIZE, cache_dir).pixels
    groups = near_duplicate_groups(loaded.hashes, embeddings=_linking_embeddings(link_pixels, [s.image_id for s in samples], cache_dir))
    ita = np.array([measure_ita(p) for p in loaded.pixels])
    frame = pd.DataFrame({
        "image_id": [s.image_id for s in samples],
        "label": [s.targets["condition"] for s in samples],
        "three_partition": [s.targets["three_partition"] for s in samples],
        "group": groups,
        "fitzpatrick": [s.attributes["fitzpatrick"] for s in samples],
        "fitzpatrick_group": [s.attributes["fitzpatrick_group"] for s in samples],
        "ita": ita,
        "ita_group": [ita_group(v) for v in ita],
        "lighting_good": [lighting_label(p) for p in loaded.pixels],
    })  # fmt: skip
    rest, test = stratified_group_holdout(frame["label"], groups, TEST_PARTS, SPLIT_SEED)
    fit, validation = stratified_group_holdout(frame["label"].to_numpy()[rest], groups[rest], VALIDATION_PARTS, SPLIT_SEED)
    split = np.full(len(frame), "train", dtype=object)
    split[test], split[rest[validation]] = "test", "validation"
    frame["split"] = split
    for a, b in (("train", "test"), ("validation", "test"), ("train", "validation")):
        assert_no_leakage(groups, np.flatnonzero(split == a), np.flatnonzero(split == b))
    counts = np.bincount(groups)
    summary = {
        "photos": len(frame), "skipped": len(loaded.dataset.problems),
        "skipped_files": [f"{p.source}: {p.reason}" for p in loaded.dataset.problems],
        "near_duplicate_groups": int(len(counts)), "groups_with_several_photos": int((counts > 1).sum()),
        "photos_in_such_groups": int(counts[counts > 1].sum()), "largest_group": int(counts.max()),
        "hash": f"16x16 average hash, linked at <= {DEFAULT_MAX_DISTANCE} of 256 bits",
        "features": f"also linked at cosine >= {DEFAULT_MIN_COSINE} of the standardised pooled features of frozen {' + '.join(LINK_BACKBONES)} at {LINK_SIZE} px",
        "split_sizes": {name: int((split == name).sum()) for name in ("train", "validation", "test")},
        "split_rule": f"held-out test: fold 0 of StratifiedGroupKFold({TEST_PARTS}, shuffle, seed {SPLIT_SEED}) by diagnosis over near-duplicate groups; "
                      f"validation: fold 0 of the same with {VALIDATION_PARTS} folds on the rest",
    }  # fmt: skip
    return frame, loaded.pixels, loaded.dataset.problems, summary


def _linking_embeddings(pixels: np.ndarray, image_ids: list[str], cache_dir: Path | None) -> np.ndarray:
    """Pooled features of the frozen probe trunks (identity view) that link recropped copies and re-photographed
    lesions into one group (`vitalens.tasks.skin_condition.duplicates`); cached, as they cost a minute on two cores."""
    key = hashlib.sha1(("\n".join(image_ids) + f"|{'+'.join(LINK_BACKBONES)}|{LINK_SIZE}|{LINK_DEPTH_RULE}").encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"skin-links-{key}.npy" if cache_dir else None
    if path and path.is_file():
        return np.load(path)
    embeddings = probe_features(SkinProbe(1, LINK_BACKBONES, LINK_SIZE, views=("identity",), depth_rule=LINK_DEPTH_RULE), pixels)[0]
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, embeddings)
    return embeddings


class _Log:
    def __init__(self, path: Path):
        self.path = path

    def __call__(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        print(line, flush=True)
        with self.path.open("a") as handle:
            handle.write(line + "\n")


def _cached(path: Path, compute):
    if path.is_file():
        return np.load(path)
    value = compute()
    np.save(path, value)
    return value


def run_skin_training(data_dir: str | Path, run_dir: str | Path, config: SkinTrainingConfig = SkinTrainingConfig(), student: bool = True) -> Path:
    torch.manual_seed(config.seed)
    run_dir = Path(run_dir)
    cache = run_dir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    log = _Log(run_dir / "train.log")
    frame, pixels, _, summary = prepare_split(data_dir)
    frame.to_csv(run_dir / "split.csv", index=False)
    classes = sorted(frame["label"].unique())
    y = frame["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    part = {name: np.flatnonzero(frame["split"].to_numpy() == name) for name in ("train", "validation", "test")}
    tr, va, te = part["train"], part["validation"], part["test"]
    log(f"data: {summary['split_sizes']}, near-duplicate groups {summary['near_duplicate_groups']}")
    timings: dict = {}

    # One pass of the frozen lower network (identity colour layer) serves the frozen baseline, phase A
    # and phase C: plain photos and mirrored training photos.
    model = SkinNet(len(classes), input_size=TEACHER_SIZE)
    started = time.monotonic()
    identity = _cached(cache / "lower_identity.npy", lambda: lower_features(model, pixels))
    views = [identity[tr], _cached(cache / "lower_train_hflip.npy", lambda: lower_features(model, pixels[tr], flip="horizontal"))]
    val_lower, test_lower = identity[va], identity[te]
    timings["lower_cache_s"] = time.monotonic() - started
    log(f"lower-network cache: {len(identity) + len(tr)} photos in {timings['lower_cache_s']:.0f} s")

    # Phase A and the frozen baseline: pooled ImageNet features.
    _, _, frozen = top_outputs(model, identity)
    baseline = _frozen_logistic_baseline(frozen, y, tr, va, log)
    fit_head(model, frozen[tr], y[tr], config.head_c)
    model.eval()
    with torch.no_grad():
        phase_a = model.heads(torch.from_numpy(frozen))[0].numpy()
    log(f"phase A: validation top-1 {np.mean(phase_a[va].argmax(1) == y[va]):.3f}")
    after_a = {k: v.clone() for k, v in model.state_dict().items()}

    # Phase C: top ~40 % of the backbone + head on the cache; class weights vs capped oversampling.
    variants = {}
    for balance in ("class_weights", "oversample"):
        model.load_state_dict(after_a)
        probabilities = capped_oversampling(y[tr], frame["fitzpatrick_group"].to_numpy()[tr], config.oversample_cap) if balance == "oversample" else None
        saved = cache / f"phase_c_{balance}.pt"  # a finished variant survives a crash in a later stage
        if saved.is_file():
            state, history = torch.load(saved, weights_only=False)
            model.load_state_dict(state)
        else:
            log(f"phase C ({balance})")
            history = train_top(model, views, y[tr], val_lower, y[va], config, sample_probabilities=probabilities, log=log)
            torch.save((model.state_dict(), history), saved)
        val_logits, _, _ = top_outputs(model, val_lower)
        variants[balance] = {"history": history, "val_top1": float(np.mean(val_logits.argmax(1) == y[va])),
                             "state": {k: v.clone() for k, v in model.state_dict().items()}}  # fmt: skip
        test_logits, _, _ = top_outputs(model, test_lower)
        _write_predictions(run_dir / f"predictions_test_{balance}.csv", frame.iloc[te], test_logits, classes)
        _write_predictions(run_dir / f"predictions_validation_{balance}.csv", frame.iloc[va], val_logits, classes)
    chosen = max(variants, key=lambda name: variants[name]["val_top1"])
    model.load_state_dict(variants[chosen]["state"])
    teacher_logits = [top_outputs(model, v)[0] for v in views] if student else None
    log(f"chosen on validation: {chosen} ({ {k: round(v['val_top1'], 3) for k, v in variants.items()} })")

    # Phase B: the colour calibration layer (and the head) through the whole network, top frozen.
    phase_b = cache / "phase_b.pt"
    if phase_b.is_file():
        state, timings["phase_b"] = torch.load(phase_b, weights_only=False)
        model.load_state_dict(state)
    else:
        timings["phase_b"] = train_calibration(model, pixels[tr], y[tr], config, log)
        torch.save((model.state_dict(), timings["phase_b"]), phase_b)
    val_lower = _cached(cache / "lower_validation_calibrated.npy", lambda: lower_features(model, pixels[va]))
    test_lower = _cached(cache / "lower_test_calibrated.npy", lambda: lower_features(model, pixels[te]))
    val_logits, _, _ = top_outputs(model, val_lower)
    log(f"after phase B: validation top-1 {np.mean(val_logits.argmax(1) == y[va]):.3f}")

    # Lighting head on plain and degraded photos (degradation labels re-measured, never assumed).
    phased_embedding = lambda key, _idx, images: top_outputs(model, _cached(cache / f"lower_{key}.npy", lambda: lower_features(model, images)))[2]  # noqa: E731
    phased_lighting = _lighting(phased_embedding, lambda e, good: fit_lighting_head(model, e, good), lambda e: _sigmoid(lambda x: model.heads(x)[1], e),
                                pixels, frame, tr, va, te, cache, config, log)  # fmt: skip
    # The typicality check on the lighting head's plain training photos: the other training photos have no
    # cached pass through the calibrated network.
    subset = _lighting_subset(tr, config)
    typicality = fit_typicality(model.typicality, phased_embedding("train_lighting", subset, pixels[subset]), phased_embedding("validation_calibrated", va, pixels[va]))
    phased = {"name": "phased fine-tune", "model": model, "validation": val_logits, "test": top_outputs(model, test_lower)[0], "lighting": phased_lighting,
              "typicality": typicality, "teacher": teacher_logits}  # fmt: skip

    probe_pixels = pixels if config.probe_size == TEACHER_SIZE else _pixels_at(data_dir, frame, config.probe_size)
    probe = _depth_probe(probe_pixels, frame, y, tr, va, te, classes, cache, config, log)
    candidates = {c["name"]: c for c in (phased, probe)}
    val_top1 = {name: float(np.mean(c["validation"].argmax(1) == y[va])) for name, c in candidates.items()}
    shipped_name = max(val_top1, key=val_top1.get)
    log(f"shipped, chosen on validation top-1: {shipped_name} ({val_top1})")
    shipped = candidates[shipped_name]
    for candidate in candidates.values():
        candidate["temperature"] = fit_temperature(candidate["validation"], y[va])
        suffix = "" if candidate is shipped else candidate_suffix(candidate["name"])
        for name, idx in (("test", te), ("validation", va)):
            _write_predictions(run_dir / f"predictions_{name}{suffix}.csv", frame.iloc[idx], candidate[name], classes, candidate["lighting"][f"{name}_plain"])
        save_skin_model(candidate["model"], classes, candidate["temperature"], run_dir / f"model{suffix}.pt", lighting_threshold=candidate["lighting"]["threshold"])
    shipped["lighting"]["records"].to_csv(run_dir / "lighting_test.csv", index=False)
    if "cross_validated" in probe:
        logits, idx, fold = probe["cross_validated"]
        _write_predictions(run_dir / "predictions_cv_depth_probe.csv", frame.iloc[idx].assign(fold=fold), logits, classes)
    for name, idx in (("test", te), ("validation", va)):
        _write_predictions(run_dir / f"predictions_{name}_frozen_logistic.csv", frame.iloc[idx], baseline[name], classes)
    info = {"config": config.__dict__, "data": summary, "classes": classes, "chosen_balance": chosen, "temperature": shipped["temperature"],
            "shipped": shipped_name, "candidates": {name: {"val_top1": val_top1[name], "temperature": c["temperature"], "lighting_threshold": c["lighting"]["threshold"],
                                                           "typicality": c["typicality"]} for name, c in candidates.items()},
            "input_size": shipped["model"].input_size, "variants": {k: {"val_top1": v["val_top1"], "history": v["history"]} for k, v in variants.items()},
            "timings": timings | probe["timings"], "baseline_c": baseline["c"],
            "lighting": {k: v for k, v in shipped["lighting"].items() if not k.endswith("_plain") and k != "records"},
            "phased_fine_tune_calibration_layer": {"matrix": model.calibration.matrix.tolist(), "bias": model.calibration.bias.tolist()},
            "torch_threads": torch.get_num_threads()}  # fmt: skip
    (run_dir / "training.json").write_text(json.dumps(info, indent=2, default=float))
    if student:
        info["student"] = _distil(model, shipped["teacher"], data_dir, frame, y, tr, va, te, classes, run_dir, config, log)
        (run_dir / "training.json").write_text(json.dumps(info, indent=2, default=float))
    return run_dir


def _sigmoid(lighting_logit, embeddings: np.ndarray) -> np.ndarray:
    """P(good lighting) from a model's lighting-logit function of pooled features."""
    with torch.no_grad():
        return expit(lighting_logit(torch.from_numpy(embeddings).float()).numpy())


def _depth_probe(pixels, frame, y, tr, va, te, classes, cache, config, log) -> dict:
    """The depth probe (frozen trunks, several depths, orientation views; `vitalens.tasks.skin_condition.probe`):
    pooled features of every photo in every view cached once, logistic heads per trunk, its lighting head."""
    model = SkinProbe(len(classes), config.probe_backbones, config.probe_size, depth_rule=config.probe_depth_rule)
    started = time.monotonic()
    features = _cached(cache / f"probe_features_{'_'.join(config.probe_backbones)}_{config.probe_size}_{config.probe_depth_rule}.npy", lambda: probe_features(model, pixels, progress=_progress(log, "depth-probe features")))
    timings = {"probe_features_s": time.monotonic() - started}
    started = time.monotonic()
    fit_probe_heads(model, features[:, tr], y[tr], config.probe_c)
    timings["probe_heads_s"] = time.monotonic() - started
    typicality = fit_typicality(model.typicality, features[:, tr].mean(axis=0), features[:, va].mean(axis=0))
    logits, _ = probe_outputs(model, features)
    log(f"depth probe ({', '.join(config.probe_backbones)}): validation top-1 {np.mean(logits[va].argmax(1) == y[va]):.3f}; "
        f"features {timings['probe_features_s']:.0f} s, heads {timings['probe_heads_s']:.0f} s")  # fmt: skip
    embedding = lambda key, idx, images: (_cached(cache / f"probe_{key}_{config.probe_size}_{config.probe_depth_rule}.npy", lambda: probe_features(model, images)) if key.endswith("_degraded") else features[:, idx]).mean(axis=0)  # noqa: E731
    fit = lambda e, good: fit_probe_lighting(model, e, good)  # noqa: E731
    probability = lambda e: _sigmoid(model.lighting_logit, e)  # noqa: E731
    lighting = _lighting(embedding, fit, probability, pixels, frame, tr, va, te, cache, config, log)
    teacher = [probe_outputs(model, features[v : v + 1, tr])[0] for v in (model.views.index("identity"), model.views.index("hflip"))]  # the student's two views
    probe = {"name": "depth probe", "model": model, "validation": logits[va], "test": logits[te], "lighting": lighting, "typicality": typicality,
             "teacher": teacher, "timings": timings}  # fmt: skip
    if config.probe_cv_folds:
        started = time.monotonic()
        probe["cross_validated"] = _cross_validated(model, features, y, frame, config)
        timings["probe_cross_validation_s"] = time.monotonic() - started
        log(f"depth probe, out-of-fold over {config.probe_cv_folds} grouped folds of train + validation: top-1 "
            f"{np.mean(probe['cross_validated'][0].argmax(1) == y[probe['cross_validated'][1]]):.3f} ({timings['probe_cross_validation_s']:.0f} s)")  # fmt: skip
    return probe


def train_validation_folds(labels, groups, split, n_folds: int, seed: int = SPLIT_SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """K (train, scored) index pairs over the train + validation photos (the held-out split left out),
    stratified by label, whole near-duplicate groups only."""
    pool = np.flatnonzero(np.asarray(split) != "test")
    return [(pool[fit], pool[scored]) for fit, scored in stratified_grouped_folds(np.asarray(labels)[pool], np.asarray(groups)[pool], n_folds, seed)]


def _cross_validated(model, features, y, frame, config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log-probabilities, photo indices, fold of each) of the probe recipe out-of-fold over train + validation."""
    folds = train_validation_folds(y, frame["group"], frame["split"], config.probe_cv_folds, config.seed)
    fold_of = np.full(len(y), -1)
    for index, (_, scored) in enumerate(folds):
        fold_of[scored] = index
    pool = np.flatnonzero(fold_of >= 0)
    return out_of_fold_logits(model, features, y, folds, config.probe_c)[pool], pool, fold_of[pool]


def _pixels_at(data_dir, frame: pd.DataFrame, size: int) -> np.ndarray:
    """The run's photos, in the frame's order, centre-cropped at another size."""
    loaded = load_skin_pixels(load_fitzpatrick17k(data_dir), size)
    assert [s.image_id for s in loaded.dataset.samples] == list(frame["image_id"]), f"the photos at {size} px differ from the run's"
    return loaded.pixels


def _progress(log, what: str, every: int = 640):
    def report(done: int, total: int) -> None:
        if done % every < 32 or done == total:
            log(f"{what}: {done}/{total} photos")
    return report


def _frozen_logistic_baseline(features, y, tr, va, log) -> dict:
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


def _lighting_subset(tr: np.ndarray, config: SkinTrainingConfig) -> np.ndarray:
    """The training photos whose plain and degraded copies train the lighting heads."""
    rng = np.random.default_rng(config.seed)
    return np.sort(rng.choice(tr, min(LIGHTING_TRAIN_DEGRADED, len(tr)), replace=False))


def _lighting(embedding, fit, probability, pixels, frame, tr, va, te, cache, config, log) -> dict:
    """Fit a model's lighting head on plain and degraded photos and choose its threshold on validation.

    `embedding(key, photo_indices, pixels)` gives the model's pooled features (key names the cache: "train_lighting",
    "validation_calibrated", "test_calibrated" for plain photos, "<split>_degraded"), `fit(embeddings, good)`
    fits the head and `probability(embeddings)` gives P(good)."""
    subset = _lighting_subset(tr, config)
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


def _write_predictions(path: Path, rows: pd.DataFrame, logits: np.ndarray, classes: list[str], lighting: np.ndarray | None = None) -> None:
    columns = ["image_id", "label", "three_partition", "group", "fitzpatrick", "fitzpatrick_group", "ita", "ita_group", "lighting_good"] + ["fold"] * ("fold" in rows)
    frame = rows[columns].reset_index(drop=True).copy()
    if lighting is not None:
        frame["lighting_good_prob"] = lighting
    logit_frame = pd.DataFrame(logits, columns=[f"logit::{c}" for c in classes])
    pd.concat([frame, logit_frame], axis=1).to_csv(path, index=False)


def _distil(phased, teacher_logits, data_dir, frame, y, tr, va, te, classes, run_dir, config, log) -> dict:
    """Student: the phased architecture at STUDENT_SIZE px (one Lite0 pass, no views), inheriting the phased
    model's colour layer, trained (phases A and C) on the soft labels of the shipped model (`teacher_logits`:
    its outputs for the plain and for the mirrored training photos, each on its own; for the depth probe that
    is its heads on one view, not its four-view average)."""
    small = _pixels_at(data_dir, frame, STUDENT_SIZE)
    cache = run_dir / "cache"
    student = SkinNet(len(classes), input_size=STUDENT_SIZE)
    student.calibration.load_state_dict(phased.calibration.state_dict())
    started = time.monotonic()
    views = [_cached(cache / "student_train.npy", lambda: lower_features(student, small[tr])),
             _cached(cache / "student_train_hflip.npy", lambda: lower_features(student, small[tr], flip="horizontal"))]  # fmt: skip
    val_lower = _cached(cache / "student_validation.npy", lambda: lower_features(student, small[va]))
    test_lower = _cached(cache / "student_test.npy", lambda: lower_features(student, small[te]))
    cache_seconds = time.monotonic() - started
    _, _, embeddings = top_outputs(student, views[0])
    fit_head(student, embeddings, y[tr], config.head_c)
    log("student phase C (distillation)")
    history = train_top(student, views, y[tr], val_lower, y[va], config, teacher_logits=teacher_logits, log=log)
    val_logits, _, val_embeddings = top_outputs(student, val_lower)
    temperature = fit_temperature(val_logits, y[va])
    typicality = fit_typicality(student.typicality, top_outputs(student, views[0])[2], val_embeddings)
    test_logits, _, _ = top_outputs(student, test_lower)
    _write_predictions(run_dir / "predictions_test_student.csv", frame.iloc[te], test_logits, classes)
    save_skin_model(student, classes, temperature, run_dir / "student.pt")
    return {"input_size": STUDENT_SIZE, "history": history, "cache_s": cache_seconds, "temperature": temperature, "typicality": typicality}


def finish_skin_run(run_dir: str | Path, data_dir: str | Path, bundle_dir: str | Path | None = None, n_boot: int = 1000) -> dict:
    """Evaluate a trained run, export and check its ONNX graph, draw the Grad-CAM gallery through the
    exported graph (torch-free path), and optionally ship the bundle."""
    from vitalens.tasks.skin_condition.evaluation import evaluate_skin_run
    from vitalens.backbones import count_parameters
    from vitalens.tasks.skin_condition.network import load_skin_model
    from vitalens.tasks.skin_condition.export import export_skin_onnx, onnx_torch_gap, write_skin_bundle

    run_dir = Path(run_dir)
    model, saved = load_skin_model(run_dir / "model.pt")
    onnx_path = export_skin_onnx(model, saved["temperature"], run_dir / "model.onnx")
    exported = {"onnx": {"gap_vs_torch": onnx_torch_gap(model, saved["temperature"], onnx_path), "megabytes": onnx_path.stat().st_size / 1e6},
                "teacher_parameters": count_parameters(model)}  # fmt: skip
    if (run_dir / "student.pt").is_file():
        exported["student_parameters"] = count_parameters(load_skin_model(run_dir / "student.pt")[0])
    report = evaluate_skin_run(run_dir, n_boot=n_boot, extra=exported)
    split = pd.read_csv(run_dir / "split.csv")
    partitions = dict(zip(split["label"], split["three_partition"]))
    if bundle_dir:
        write_skin_bundle(model, onnx_path, saved["classes"], {c: partitions[c] for c in saved["classes"]}, saved["temperature"], saved["lighting_threshold"], report, bundle_dir)
        gallery(run_dir, data_dir, bundle_dir)
    return report


def gallery(run_dir: Path, data_dir: str | Path, bundle_dir: str | Path, per_kind: int = 8) -> list[Path]:
    """Heat maps of correct and wrong held-out predictions, computed by the shipped ONNX graph.
    Written to the run folder only: the photos are CC BY-NC-SA and never go into the repository."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from vitalens.imaging import decode_image
    from vitalens.bundle import load_bundle
    from vitalens.tasks.skin_condition.runtime import SkinPredictor

    predictor = SkinPredictor(load_bundle(bundle_dir))
    test = pd.read_csv(run_dir / "predictions_test.csv").sort_values("image_id")
    images_dir = Path(data_dir) / "images"
    results = []
    for row in test.itertuples():
        rgb = decode_image(images_dir / f"{row.image_id}.jpg").rgb
        result = predictor.predict(rgb, row.image_id)
        results.append((row.label, result, rgb))
        if sum(r["top"][0]["label"] == t for t, r, _ in results) >= per_kind and sum(r["top"][0]["label"] != t for t, r, _ in results) >= per_kind:
            break
    written = []
    for kind, keep in (("correct", True), ("wrong", False)):
        chosen = [(t, r, rgb) for t, r, rgb in results if (r["top"][0]["label"] == t) == keep][:per_kind]
        figure, axes = plt.subplots(2, per_kind, figsize=(2.2 * per_kind, 4.8))
        for column, (truth, result, rgb) in enumerate(chosen):
            crop = centre_crop_resized(rgb, predictor.size)
            heat = np.asarray(Image.fromarray((result["heatmap"] * 255).astype(np.uint8)).resize(crop.shape[:2][::-1], Image.BILINEAR)) / 255.0
            axes[0, column].imshow(crop)
            axes[1, column].imshow(crop)
            axes[1, column].imshow(heat, cmap="jet", alpha=0.45, vmin=0, vmax=1)
            axes[0, column].set_title(f"true: {truth}", fontsize=6)
            axes[1, column].set_title(f"{result['top'][0]['label']} {result['top'][0]['probability']:.2f}", fontsize=6)
            for axis in axes[:, column]:
                axis.axis("off")
        figure.suptitle(f"Grad-CAM of the top prediction, {kind} held-out cases (research only, not a diagnosis)", fontsize=9)
        figure.tight_layout()
        path = run_dir / f"gallery_{kind}.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    return written
