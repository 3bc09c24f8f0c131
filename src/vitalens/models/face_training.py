"""Training the face multi-task model: CE(gender) + w x MSE(age/100), Adam + ReduceLROnPlateau,
early stopping on validation loss, a checkpoint every epoch and resume from it, tqdm progress.

Inputs are "views" of the training set (e.g. plain and mirrored), each an array with one row per
sample: uint8 NHWC pixels (normalised here) or cached float16 stem features. Each batch row draws a
random view, which is how mirroring augments cached features that cannot be flipped after the fact.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vitalens.models.face import AGE_SCALE, FaceNet, normalise


@dataclass
class FaceTrainingConfig:
    epochs: int = 12
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    gender_weight: float = 1.0
    age_weight: float = 2.0  # the seed's loss: CE + 2 x MSE(age / 100)
    early_stopping_patience: int = 3
    lr_patience: int = 1
    lr_factor: float = 0.3
    max_minutes: float | None = None  # stop after the epoch that crosses this wall-time budget
    seed: int = 0


def multitask_loss(gender_logits, age_scaled, gender, age_years, gender_weight: float, age_weight: float) -> torch.Tensor:
    return gender_weight * F.cross_entropy(gender_logits, gender) + age_weight * F.mse_loss(age_scaled, age_years / AGE_SCALE)


def model_outputs(model: FaceNet, batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 NHWC pixels go through the whole network; float arrays are cached stem features."""
    if batch.dtype == np.uint8:
        return model(normalise(torch.from_numpy(np.ascontiguousarray(batch)), model.prep))
    return model.heads(torch.from_numpy(np.ascontiguousarray(batch)).float())


@torch.no_grad()
def predict_arrays(model: FaceNet, inputs: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Gender logits [N, 2] and age in years [N] for pixels or cached stem features."""
    model.eval()
    logits, ages = [], []
    for start in range(0, len(inputs), batch_size):
        gender_logits, age_scaled = model_outputs(model, inputs[start : start + batch_size])
        logits.append(gender_logits.numpy())
        ages.append(age_scaled.numpy() * AGE_SCALE)
    return np.concatenate(logits), np.concatenate(ages)


class FaceTrainer:
    def __init__(self, model: FaceNet, config: FaceTrainingConfig, checkpoint_dir: str | Path | None = None, progress: bool = True):
        self.model, self.config, self.progress = model, config, progress
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        trainable = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, factor=config.lr_factor, patience=config.lr_patience)
        self.history: list[dict] = []
        self.best_loss, self.best_state, self.epochs_without_gain, self.next_epoch = float("inf"), None, 0, 0

    def fit(self, train_views: list[np.ndarray], train_age: np.ndarray, train_gender: np.ndarray,
            val_inputs: np.ndarray, val_age: np.ndarray, val_gender: np.ndarray) -> "FaceTrainer":  # fmt: skip
        self._resume()
        rng = np.random.default_rng(self.config.seed + self.next_epoch)
        torch.manual_seed(self.config.seed + self.next_epoch)
        started = time.monotonic()
        for epoch in range(self.next_epoch, self.config.epochs):
            epoch_start = time.monotonic()
            train_loss = self._train_epoch(train_views, train_age, train_gender, rng, epoch)
            val_loss = self._loss_on(val_inputs, val_age, val_gender)
            self.scheduler.step(val_loss)
            improved = val_loss < self.best_loss
            if improved:
                self.best_loss, self.epochs_without_gain = val_loss, 0
                self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            else:
                self.epochs_without_gain += 1
            seconds = time.monotonic() - epoch_start
            self.history.append({"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss,
                                 "lr": self.optimizer.param_groups[0]["lr"], "seconds": round(seconds, 1)})  # fmt: skip
            print(f"epoch {epoch + 1}: train loss {train_loss:.4f}, validation loss {val_loss:.4f}{' *' if improved else ''}, {seconds:.0f} s", flush=True)
            self.next_epoch = epoch + 1
            self._save_checkpoint()
            if self.epochs_without_gain >= self.config.early_stopping_patience:
                print(f"early stop: validation loss has not improved for {self.epochs_without_gain} epochs", flush=True)
                break
            if self.config.max_minutes and (time.monotonic() - started) / 60 > self.config.max_minutes:
                print(f"stopping: the {self.config.max_minutes} min budget is spent", flush=True)
                break
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return self

    def _train_epoch(self, views, ages, genders, rng, epoch) -> float:
        from tqdm import tqdm

        self.model.train()
        self.model.stem.eval()  # frozen ImageNet statistics; a no-op for trunks without a stem
        order = rng.permutation(len(ages))
        batches = range(0, len(order), self.config.batch_size)
        total = 0.0
        for start in tqdm(batches, desc=f"epoch {epoch + 1}", disable=not self.progress, leave=False):
            index = np.sort(order[start : start + self.config.batch_size])
            view = rng.integers(len(views), size=len(index))
            batch = np.stack([views[v][i] for v, i in zip(view, index)])
            gender_logits, age_scaled = model_outputs(self.model, batch)
            loss = multitask_loss(gender_logits, age_scaled, torch.from_numpy(genders[index]).long(),
                                  torch.from_numpy(ages[index]).float(), self.config.gender_weight, self.config.age_weight)  # fmt: skip
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(index)
        return total / len(order)

    def _loss_on(self, inputs, ages, genders) -> float:
        logits, age_years = predict_arrays(self.model, inputs)
        loss = multitask_loss(torch.from_numpy(logits), torch.from_numpy(age_years / AGE_SCALE), torch.from_numpy(genders).long(),
                              torch.from_numpy(ages).float(), self.config.gender_weight, self.config.age_weight)  # fmt: skip
        return float(loss)

    def _save_checkpoint(self) -> None:
        if not self.checkpoint_dir:
            return
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "next_epoch": self.next_epoch, "best_loss": self.best_loss, "best_state": self.best_state,
            "epochs_without_gain": self.epochs_without_gain, "history": self.history, "config": asdict(self.config),
        }  # fmt: skip
        temporary = self.checkpoint_dir / "checkpoint.pt.tmp"
        torch.save(state, temporary)
        temporary.replace(self.checkpoint_dir / "checkpoint.pt")  # an interrupted save never corrupts the last one

    def _resume(self) -> None:
        path = self.checkpoint_dir / "checkpoint.pt" if self.checkpoint_dir else None
        if not path or not path.is_file():
            return
        state = torch.load(path, map_location="cpu", weights_only=False)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.next_epoch, self.best_loss, self.best_state = state["next_epoch"], state["best_loss"], state["best_state"]
        self.epochs_without_gain, self.history = state["epochs_without_gain"], state["history"]
        print(f"resuming from {path} after epoch {self.next_epoch}", flush=True)


def count_trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
