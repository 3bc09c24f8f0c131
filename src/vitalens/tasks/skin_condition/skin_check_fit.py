"""Fitting the skin model's skin check on the *tuning* half of every body site's photos (training world:
onnx, scikit-learn), and writing it into the shipped graph as the output `site_logit`.

The spine's site check (vitalens.site_check) describes a photo with 102 hand-made numbers; on the tuning
half it let 22 % of other sites' photos through at 97 % of the skin photos. The skin network already computes
something far richer for every photo: the view-averaged pooled features its typicality score reads. A
logistic regression on those (positives: the tuning half's skin photos; negatives: every other site's
tuning photos plus synthetic images, and the lip photos also in LIP_COPIES cropped, mirrored and re-lit
copies, since there are only 13 of them) is chosen by grouped 5-fold CV
(vitalens.evaluation.site_check_fit.fit_check; a photo's copies stay in its group) and folded into the
graph as (pooled - mean) @ (weights / scale) + bias, so the runtime, the API and the browser read one more
output. Its threshold and the typicality threshold are chosen together on the out-of-fold scores
(choose_thresholds): at typicality 1.0 (the 95th percentile of the model's validation photos) the
typicality check alone refuses 5 % of the tuning skin photos, so 97 % own cannot be reached with it.

What it does not do: the lip starter photos (a lower face, chin and neck; the centre crop the network sees
is mostly healthy chin and neck skin) lie among the skin photos in these features, and most pass out of
fold (benchmarks/results/skin_check.txt).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from rich.progress import track

from vitalens.evaluation.site_check_fit import Examples, fit_check, out_of_fold_scores
from vitalens.evaluation.sites import SITES, site_groups, site_photos, synthetic_images
from vitalens.face_gate import face_gate
from vitalens.imaging import ImageDecodeError, decode_image

OUTPUT = "site_logit"
TYPICALITY_MEAN = "model.typicality.mean"  # the pooled features are what the typicality check subtracts its mean from
PER_SITE = {"skin": 800, "face": 300, "fingernail": 150, "conjunctiva": 200, "lips": 150}
LIP_COPIES = 8  # cropped (75-100 % of each side), mirrored every other time and re-lit (x 0.85-1.15) copies per lip photo
OWN_RATE = 0.97  # of the tuning skin photos answered by all three checks together
TYPICALITY_CANDIDATES = (1.0, 1.25, 1.5, 2.0)  # 1.0: the 95th percentile of the validation photos (the shipped threshold before)


def pooled_tensor(model: onnx.ModelProto) -> str:
    """The name of the view-averaged pooled features in a skin graph: the tensor its typicality subtracts its mean from."""
    for node in model.graph.node:
        if node.op_type == "Sub" and node.input[1].startswith(TYPICALITY_MEAN):
            return node.input[0]
    raise ValueError("no typicality check in this graph: the skin check reads the pooled features it reads")


def features_session(path: Path) -> tuple[ort.InferenceSession, int]:
    """A session of the graph with its pooled features as one more output, and that output's index."""
    model = onnx.load(str(path))
    model.graph.output.append(helper.make_tensor_value_info(pooled_tensor(model), TensorProto.FLOAT, None))
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]), len(model.graph.output) - 1


def lip_copies(rgb: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    height, width = rgb.shape[:2]
    copies = []
    for k in range(1, LIP_COPIES + 1):
        share = rng.uniform(0.75, 1.0)
        top, left = int(rng.uniform(0, 1 - share) * height), int(rng.uniform(0, 1 - share) * width)
        copy = rgb[top:top + int(share * height), left:left + int(share * width)]
        copy = copy[:, ::-1] if k % 2 else copy
        copies.append(np.ascontiguousarray(np.clip(copy.astype(np.float32) * rng.uniform(0.85, 1.15), 0, 255).astype(np.uint8)))
    return copies


def tuning_examples(predictor: Any, seed: int = 0) -> tuple[Examples, np.ndarray, np.ndarray]:
    """Every tuning photo's pooled features, labels and groups, its typicality score and whether the face gate passes it."""
    session, index = features_session(predictor.bundle.path / "model.onnx")
    rng = np.random.default_rng(seed)
    rows, positive, groups, sites, typicality, face_ok = [], [], [], [], [], []

    def add(rgb: np.ndarray, site: str, group: str) -> None:
        image = np.ascontiguousarray(predictor.crop(rgb)[None].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        outputs = session.run(None, {"image": image})
        rows.append(outputs[index][0])
        positive.append(site == "skin")
        groups.append(group)
        sites.append(site)
        typicality.append(float(outputs[3][0]))
        face_ok.append(face_gate(predictor.bundle, rgb, group) is None)

    for site in SITES:
        group_of = site_groups(site)
        for path in track(site_photos(site, "tune", PER_SITE[site]), description=f"skin check: {site}", transient=True):
            try:
                rgb = decode_image(path).rgb
            except ImageDecodeError:
                continue
            group = f"{site}:{group_of.get(Path(path), path.name)}"
            add(rgb, site, group)
            for copy in lip_copies(rgb, rng) if site == "lips" else []:
                add(copy, "lips (copies)", group)
    for seed_ in range(1, 9):  # the test half's synthetic images use seed 0
        for name, rgb in synthetic_images(seed=seed_).items():
            add(rgb, "synthetic", f"synthetic:{name}")
    examples = Examples(np.array(rows, np.float64), np.array(positive), np.array(groups), np.array(sites))
    return examples, np.array(typicality), np.array(face_ok)


def choose_thresholds(scores: np.ndarray, examples: Examples, typicality: np.ndarray, face_ok: np.ndarray) -> tuple[float, float, list[dict]]:
    """(skin-check threshold, typicality threshold, the log): for each TYPICALITY_CANDIDATES threshold, the highest
    skin-check threshold at which OWN_RATE of the tuning skin photos pass all three checks out of fold; of the
    pairs that reach OWN_RATE, the one letting the fewest other photos through (every site and kind weighing alike)."""
    own, log = examples.positive, []
    for typical in TYPICALITY_CANDIDATES:
        base = face_ok & (typicality <= typical)
        row: dict[str, Any] = {"typicality_threshold": typical, "own_pass_without_skin_check": float(base[own].mean())}
        if base[own].mean() >= OWN_RATE:
            threshold = next(t for t in np.sort(scores[own])[::-1] if ((scores >= t) & base)[own].mean() >= OWN_RATE)
            answered = (scores >= threshold) & base
            others = {site: float(answered[examples.site == site].mean()) for site in sorted(set(examples.site[~own]))}
            row |= {"skin_check_threshold": float(threshold), "own_pass": float(answered[own].mean()), "others_pass_by_site": others,
                    "others_pass_mean": float(np.mean(list(others.values())))}  # fmt: skip
        log.append(row)
    best = min((row for row in log if "skin_check_threshold" in row), key=lambda row: (row["others_pass_mean"], -row["own_pass"]))
    return best["skin_check_threshold"], best["typicality_threshold"], log


def fit_skin_check(predictor: Any, tip: str) -> tuple[dict, dict, dict]:
    """(the check's logistic weights, the bundle.json entry of the `site_logit` output with how it was chosen,
    the typicality output's entry with its threshold re-chosen alongside)."""
    examples, typicality, face_ok = tuning_examples(predictor)
    check = fit_check(examples, "skin", tip, features="the skin network's view-averaged pooled features (what its typicality check reads)")
    scores = out_of_fold_scores(examples, check["chosen"]["C"])
    threshold, typical, log = choose_thresholds(scores, examples, typicality, face_ok)
    weights = {key: check.pop(key) for key in ("mean", "scale", "weights", "bias")}
    answered = (scores >= threshold) & face_ok & (typicality <= typical)
    by_site = {site: {"n": int((examples.site == site).sum()), "skin_check": float((scores[examples.site == site] >= threshold).mean()),
                      "with_face_gate_and_typicality": float(answered[examples.site == site].mean())} for site in sorted(set(examples.site))}  # fmt: skip
    how = (f"with the typicality threshold, on the tuning half out of fold: the highest skin-check threshold at which {OWN_RATE:.0%} of the skin photos "
           f"pass it, the face gate and the typicality check together, for typicality thresholds {', '.join(map(str, TYPICALITY_CANDIDATES))}; "
           "of those, the pair letting the fewest other photos through (mean over sites)")  # fmt: skip
    check["threshold_at_97_percent_alone"] = check.pop("threshold")  # fit_check's: the skin check alone, before the typicality threshold moved
    entry = {"shape": ["batch"], "threshold": round(threshold, 6),
             "meaning": "logit of 'a skin close-up like the training photos' from the view-averaged pooled features; under the threshold the photo is refused",
             "threshold_chosen": how, **check, "pass_rate_out_of_fold_by_site": by_site, "thresholds_tried": log}  # fmt: skip
    typicality_entry = {**predictor.bundle.manifest["outputs"]["typicality"], "threshold": typical, "threshold_chosen": how + " (was 1.0: the 95th percentile of the validation photos)"}
    return weights, entry, typicality_entry


def append_site_logit(path: Path, weights: dict) -> None:
    """Add the output OUTPUT = (pooled - mean) @ (weights / scale) + bias to the skin graph at `path`, in place
    (a graph that has one already gets the new weights)."""
    model = onnx.load(str(path))
    graph = model.graph
    for stale in [node for node in graph.node if OUTPUT in node.output or any(o.startswith("skin_check/") for o in node.output)]:
        graph.node.remove(stale)
    for stale in [init for init in graph.initializer if init.name.startswith("skin_check/")]:
        graph.initializer.remove(stale)
    for stale in [out for out in graph.output if out.name == OUTPUT]:
        graph.output.remove(stale)
    mean = np.asarray(weights["mean"], np.float32)
    slope = (np.asarray(weights["weights"]) / np.asarray(weights["scale"])).astype(np.float32)
    graph.initializer.extend([numpy_helper.from_array(mean, "skin_check/mean"), numpy_helper.from_array(slope, "skin_check/slope"),
                              numpy_helper.from_array(np.array(weights["bias"], np.float32), "skin_check/bias")])  # fmt: skip
    graph.node.extend([helper.make_node("Sub", [pooled_tensor(model), "skin_check/mean"], ["skin_check/centred"]),
                       helper.make_node("MatMul", ["skin_check/centred", "skin_check/slope"], ["skin_check/product"]),
                       helper.make_node("Add", ["skin_check/product", "skin_check/bias"], [OUTPUT])])  # fmt: skip
    graph.output.append(helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch"]))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
