"""Phased training of the skin network on CPU, with cached intermediate features.

A  heads only: the diagnosis head is a class-weighted logistic regression on frozen, pooled
   ImageNet features, copied into the linear head.
C  top of the backbone: the frozen lower part's output (blocks 0-9) is cached once per photo and per
   fixed augmented copy (mirror); blocks 10-15, the head convolution and the head train on that cache.
B  colour calibration: a bounded number of steps through the whole network train the 3x3 colour
   matrix (with its L2 prior towards the identity) and the head, everything else frozen. It is the
   only phase that pays backprop through the full network (~5 s per 24 photos on one CPU thread), so
   it runs after C: running it before C would force a second cached pass over every training photo.
D  (full unfreeze at a tiny learning rate) is not run: one epoch of full backprop would cost ~10
   minutes on one CPU thread here, and phase C already trains 84 % of the parameters.
Imbalance: class weights in the loss (default) or capped oversampling by (diagnosis x tone group).
The lighting head is a logistic regression on the final pooled features of plain and degraded photos.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from vitalens.tasks.skin_condition.fitting import SkinTrainingConfig, fit_logistic_head, unit_batch
from vitalens.tasks.skin_condition.network import SkinNet


@torch.no_grad()
def lower_features(model: SkinNet, pixels: np.ndarray, batch_size: int = 64, flip: str | None = None) -> np.ndarray:
    """The frozen lower part's output for uint8 NHWC pixels (optionally flipped), as float16."""
    model.eval()
    chunks = []
    for start in range(0, len(pixels), batch_size):
        batch = unit_batch(pixels[start : start + batch_size])
        if flip:
            batch = batch.flip(3 if flip == "horizontal" else 2)
        chunks.append(model.lower(batch).half().numpy())
    return np.concatenate(chunks)


@torch.no_grad()
def top_outputs(model: SkinNet, lower: np.ndarray, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(diagnosis logits, lighting logits, pooled embeddings) from cached lower features."""
    model.eval()
    logits, lighting, embeddings = [], [], []
    for start in range(0, len(lower), batch_size):
        feature_map = model.top(torch.from_numpy(lower[start : start + batch_size]).float())
        embedding = feature_map.mean(dim=(2, 3))
        diagnosis, light = model.heads(embedding)
        logits.append(diagnosis.numpy())
        lighting.append(light.numpy())
        embeddings.append(embedding.numpy())
    return np.concatenate(logits), np.concatenate(lighting), np.concatenate(embeddings)


def balanced_class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return compute_class_weight("balanced", classes=np.arange(n_classes), y=labels).astype(np.float32)


def capped_oversampling(labels: np.ndarray, tone_groups: np.ndarray, cap: float) -> np.ndarray:
    """Sampling probabilities that even out (diagnosis x tone group) cells, each raised at most `cap`-fold.

    A cell of n photos is drawn as if it had min(largest cell, cap * n) photos, so rare cells are
    seen more often without being repeated so much that the network memorises them.
    """
    cells = np.char.add(np.char.add(labels.astype(str), "|"), tone_groups.astype(str))
    names, index, counts = np.unique(cells, return_inverse=True, return_counts=True)
    target = np.minimum(counts.max(), cap * counts)
    weights = (target / counts)[index]
    return weights / weights.sum()


def fit_head(model: SkinNet, embeddings: np.ndarray, labels: np.ndarray, c: float) -> LogisticRegression:
    """Phase A: fix the embedding standardisation from these (training) features, then fit a
    class-weighted multinomial logistic regression on the standardised features as the head."""
    with torch.no_grad():
        model.embedding_mean.copy_(torch.from_numpy(embeddings.mean(0)).float())
        model.embedding_std.copy_(torch.from_numpy(embeddings.std(0) + 1e-6).float())
    return fit_logistic_head(model.diagnosis_head, _standardised(model, embeddings), labels, c, max_iter=300)


def _standardised(model: SkinNet, embeddings: np.ndarray) -> np.ndarray:
    return (embeddings - model.embedding_mean.numpy()) / model.embedding_std.numpy()


def train_calibration(model: SkinNet, pixels: np.ndarray, labels: np.ndarray, config: SkinTrainingConfig, log=print) -> dict:
    """Phase B: colour calibration + diagnosis head through the otherwise frozen network, a bounded number of steps."""
    model.eval()  # frozen batch-norm statistics and no dropout while the colour matrix settles
    trainable = list(model.calibration.parameters()) + list(model.diagnosis_head.parameters())
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for parameter in trainable:
        parameter.requires_grad_(True)
    weights = torch.from_numpy(balanced_class_weights(labels, model.diagnosis_head.out_features))
    optimiser = torch.optim.Adam([{"params": model.calibration.parameters(), "lr": config.calibration_lr},
                                  {"params": model.diagnosis_head.parameters(), "lr": config.calibration_lr / 10}])  # fmt: skip
    rng = np.random.default_rng(config.seed)
    started, losses = time.monotonic(), []
    for step in range(config.calibration_steps):
        chosen = np.sort(rng.choice(len(pixels), config.calibration_batch, replace=False))
        logits, _, _ = model(unit_batch(pixels[chosen]))
        loss = nn.functional.cross_entropy(logits, torch.from_numpy(labels[chosen]), weight=weights) + config.calibration_prior * model.calibration.prior()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    seconds = time.monotonic() - started
    log(f"phase B: {config.calibration_steps} steps x {config.calibration_batch} photos in {seconds:.0f} s; loss {losses[0]:.3f} -> {np.mean(losses[-5:]):.3f}")
    return {"seconds": seconds, "losses": losses, "matrix": model.calibration.matrix.detach().tolist(), "bias": model.calibration.bias.detach().tolist()}


def train_top(model: SkinNet, train_views: list[np.ndarray], labels: np.ndarray, val_lower: np.ndarray, val_labels: np.ndarray,
              config: SkinTrainingConfig, sample_probabilities: np.ndarray | None = None,
              teacher_logits: list[np.ndarray] | None = None, log=print) -> list[dict]:  # fmt: skip
    """Phase C on cached lower features: each epoch draws one cached view per photo. With
    `sample_probabilities` photos are drawn by them (oversampling) instead of class weights in the
    loss; with `teacher_logits` (one array per view) the loss adds distillation from a teacher.
    The state with the best validation top-1 (the starting state included) is kept."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    top, head = list(model.top.parameters()), list(model.diagnosis_head.parameters())
    for parameter in top + head:
        parameter.requires_grad_(True)
    optimiser = torch.optim.AdamW([{"params": top, "lr": config.lr_top}, {"params": head, "lr": config.lr_head}], weight_decay=config.weight_decay)
    steps_per_epoch = int(np.ceil(len(labels) / config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=[config.lr_top, config.lr_head], total_steps=config.epochs * steps_per_epoch, pct_start=0.15)
    n_classes = model.diagnosis_head.out_features
    weights = None if sample_probabilities is not None else torch.from_numpy(balanced_class_weights(labels, n_classes))
    rng = np.random.default_rng(config.seed)
    start_logits, _, _ = top_outputs(model, val_lower)  # the starting point (phase A) is a candidate too
    best, best_score, history, stale = copy.deepcopy(model.state_dict()), float((start_logits.argmax(1) == val_labels).mean()), [], 0
    for epoch in range(config.epochs):
        started = time.monotonic()
        model.train()
        # Batch-norm keeps its ImageNet running statistics: with batches of 32 clinical photos, batch
        # statistics shift every feature at once and the phase-A head starts from garbage (loss ~7).
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        order = rng.choice(len(labels), len(labels), p=sample_probabilities) if sample_probabilities is not None else rng.permutation(len(labels))
        view_of = rng.integers(len(train_views), size=len(labels))
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            chosen = order[start : start + config.batch_size]
            views = view_of[chosen]
            batch = torch.from_numpy(np.stack([train_views[v][i] for v, i in zip(views, chosen)])).float()
            logits, _, _ = model.from_lower(batch)
            target = torch.from_numpy(labels[chosen])
            loss = nn.functional.cross_entropy(logits, target, weight=weights, label_smoothing=config.label_smoothing)
            if teacher_logits is not None:
                teacher = torch.from_numpy(np.stack([teacher_logits[v][i] for v, i in zip(views, chosen)])).float()
                t = config.distill_temperature
                distill = nn.functional.kl_div(torch.log_softmax(logits / t, 1), torch.softmax(teacher / t, 1), reduction="batchmean") * t * t
                loss = (1 - config.distill_weight) * loss + config.distill_weight * distill
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += loss.item() * len(chosen)
        val_logits, _, _ = top_outputs(model, val_lower)
        val_top1 = float((val_logits.argmax(1) == val_labels).mean())
        seconds = time.monotonic() - started
        history.append({"epoch": epoch + 1, "train_loss": total / len(order), "val_top1": val_top1, "seconds": seconds})
        log(f"phase C epoch {epoch + 1}/{config.epochs}: loss {total / len(order):.3f}, validation top-1 {val_top1:.3f}, {seconds:.0f} s")
        if val_top1 > best_score:
            best, best_score, stale = copy.deepcopy(model.state_dict()), val_top1, 0
        else:
            stale += 1
            if stale >= config.patience:
                break
    model.load_state_dict(best)
    model.eval()
    return history


def fit_lighting_head(model: SkinNet, embeddings: np.ndarray, good: np.ndarray, c: float = 0.05) -> None:
    """Lighting head: logistic regression (balanced) on the model's standardised pooled features."""
    fit_logistic_head(model.lighting_head, _standardised(model, embeddings), good, c, max_iter=500)
