"""One skin training run, end to end: Fitzpatrick17k → near-duplicate groups → fixed held-out split →
two candidates, each with its lighting head, photo check (`vitalens.tasks.skin_condition.typicality`) and temperature — the phased fine-tune (phases A-C-B, class
weights vs the oversampling ablation) and the depth probe (`vitalens.tasks.skin_condition.probe`) → the one with
the better validation top-1 ships (model.pt, predictions_*.csv), the other is kept beside it
(model_<name>.pt, predictions_*_<name>.csv) → distilled student → all in the run folder. The split is made
by `split`, the depth probe, the baseline, the lighting heads and the student by `candidates`; `finish`
exports the graph and writes the held-out report.

Phases run A → C → B: phase B (the colour layer) is the only one that needs backprop through the whole
network, so it runs last with the top frozen, and one cached pass of the frozen lower network serves
the frozen baseline, phase A and phase C (see `vitalens.tasks.skin_condition.phases`).

The held-out test split (1/6 of the photos, stratified by diagnosis, whole near-duplicate groups) is
only ever predicted: choices (C of the baseline, epochs, class weights vs oversampling, which candidate
ships, temperature, lighting threshold) are made on the validation part (1/6 of the rest).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from vitalens.evaluation.metrics import fit_temperature
from vitalens.tasks.skin_condition.artifacts import RunLog, cached, write_predictions
from vitalens.tasks.skin_condition.candidates import depth_probe, distil, fit_lighting, frozen_logistic_baseline, lighting_subset, sigmoid_of
from vitalens.tasks.skin_condition.fitting import SkinTrainingConfig
from vitalens.tasks.skin_condition.metrics import candidate_suffix
from vitalens.tasks.skin_condition.network import SkinNet, plain, save_skin_model
from vitalens.tasks.skin_condition.phases import capped_oversampling, fit_head, fit_lighting_head, lower_features, top_outputs, train_calibration, train_top
from vitalens.tasks.skin_condition.split import TEACHER_SIZE, pixels_at, prepare_split
from vitalens.tasks.skin_condition.typicality import fit_typicality


def run_skin_training(data_dir: str | Path, run_dir: str | Path, config: SkinTrainingConfig = SkinTrainingConfig(), student: bool = True) -> Path:
    torch.manual_seed(config.seed)
    run_dir = Path(run_dir)
    cache = run_dir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    log = RunLog(run_dir / "train.log")
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
    identity = cached(cache / "lower_identity.npy", lambda: lower_features(model, pixels))
    views = [identity[tr], cached(cache / "lower_train_hflip.npy", lambda: lower_features(model, pixels[tr], flip="horizontal"))]
    val_lower, test_lower = identity[va], identity[te]
    timings["lower_cache_s"] = time.monotonic() - started
    log(f"lower-network cache: {len(identity) + len(tr)} photos in {timings['lower_cache_s']:.0f} s")

    # Phase A and the frozen baseline: pooled ImageNet features.
    _, _, frozen = top_outputs(model, identity)
    baseline = frozen_logistic_baseline(frozen, y, tr, va, log)
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
            state, history = torch.load(saved, weights_only=True)
            model.load_state_dict(state)
        else:
            log(f"phase C ({balance})")
            history = train_top(model, views, y[tr], val_lower, y[va], config, sample_probabilities=probabilities, log=log)
            torch.save(plain((model.state_dict(), history)), saved)
        val_logits, _, _ = top_outputs(model, val_lower)
        variants[balance] = {"history": history, "val_top1": float(np.mean(val_logits.argmax(1) == y[va])),
                             "state": {k: v.clone() for k, v in model.state_dict().items()}}  # fmt: skip
        test_logits, _, _ = top_outputs(model, test_lower)
        write_predictions(run_dir / f"predictions_test_{balance}.csv", frame.iloc[te], test_logits, classes)
        write_predictions(run_dir / f"predictions_validation_{balance}.csv", frame.iloc[va], val_logits, classes)
    chosen = max(variants, key=lambda name: variants[name]["val_top1"])
    model.load_state_dict(variants[chosen]["state"])
    teacher_logits = [top_outputs(model, v)[0] for v in views] if student else None
    log(f"chosen on validation: {chosen} ({ {k: round(v['val_top1'], 3) for k, v in variants.items()} })")

    # Phase B: the colour calibration layer (and the head) through the whole network, top frozen.
    phase_b = cache / "phase_b.pt"
    if phase_b.is_file():
        state, timings["phase_b"] = torch.load(phase_b, weights_only=True)
        model.load_state_dict(state)
    else:
        timings["phase_b"] = train_calibration(model, pixels[tr], y[tr], config, log)
        torch.save(plain((model.state_dict(), timings["phase_b"])), phase_b)
    val_lower = cached(cache / "lower_validation_calibrated.npy", lambda: lower_features(model, pixels[va]))
    test_lower = cached(cache / "lower_test_calibrated.npy", lambda: lower_features(model, pixels[te]))
    val_logits, _, _ = top_outputs(model, val_lower)
    log(f"after phase B: validation top-1 {np.mean(val_logits.argmax(1) == y[va]):.3f}")

    # Lighting head on plain and degraded photos (degradation labels re-measured, never assumed).
    phased_embedding = lambda key, _idx, images: top_outputs(model, cached(cache / f"lower_{key}.npy", lambda: lower_features(model, images)))[2]  # noqa: E731
    phased_lighting = fit_lighting(phased_embedding, lambda e, good: fit_lighting_head(model, e, good), lambda e: sigmoid_of(lambda x: model.heads(x)[1], e),
                                pixels, frame, tr, va, te, cache, config, log)  # fmt: skip
    # The typicality check on the lighting head's plain training photos: the other training photos have no
    # cached pass through the calibrated network.
    subset = lighting_subset(tr, config)
    typicality = fit_typicality(model.typicality, phased_embedding("train_lighting", subset, pixels[subset]), phased_embedding("validation_calibrated", va, pixels[va]))
    phased = {"name": "phased fine-tune", "model": model, "validation": val_logits, "test": top_outputs(model, test_lower)[0], "lighting": phased_lighting,
              "typicality": typicality, "teacher": teacher_logits}  # fmt: skip

    probe_pixels = pixels if config.probe_size == TEACHER_SIZE else pixels_at(data_dir, frame, config.probe_size)
    probe = depth_probe(probe_pixels, frame, y, tr, va, te, classes, cache, config, log)
    candidates = {c["name"]: c for c in (phased, probe)}
    val_top1 = {name: float(np.mean(c["validation"].argmax(1) == y[va])) for name, c in candidates.items()}
    shipped_name = max(val_top1, key=val_top1.get)
    log(f"shipped, chosen on validation top-1: {shipped_name} ({val_top1})")
    shipped = candidates[shipped_name]
    for candidate in candidates.values():
        candidate["temperature"] = fit_temperature(candidate["validation"], y[va])
        suffix = "" if candidate is shipped else candidate_suffix(candidate["name"])
        for name, idx in (("test", te), ("validation", va)):
            write_predictions(run_dir / f"predictions_{name}{suffix}.csv", frame.iloc[idx], candidate[name], classes, candidate["lighting"][f"{name}_plain"])
        save_skin_model(candidate["model"], classes, candidate["temperature"], run_dir / f"model{suffix}.pt", lighting_threshold=candidate["lighting"]["threshold"])
    shipped["lighting"]["records"].to_csv(run_dir / "lighting_test.csv", index=False)
    if "cross_validated" in probe:
        logits, idx, fold = probe["cross_validated"]
        write_predictions(run_dir / "predictions_cv_depth_probe.csv", frame.iloc[idx].assign(fold=fold), logits, classes)
    for name, idx in (("test", te), ("validation", va)):
        write_predictions(run_dir / f"predictions_{name}_frozen_logistic.csv", frame.iloc[idx], baseline[name], classes)
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
        info["student"] = distil(model, shipped["teacher"], data_dir, frame, y, tr, va, te, classes, run_dir, config, log)
        (run_dir / "training.json").write_text(json.dumps(info, indent=2, default=float))
    return run_dir
