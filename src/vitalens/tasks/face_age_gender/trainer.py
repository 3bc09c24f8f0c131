"""Training the face multi-task model: CE(gender) + w x age loss, Adam + ReduceLROnPlateau, early
stopping on validation loss, a checkpoint every epoch and resume from it, rich progress.

The age loss follows the model's age head: MSE(age/100) for a regression head (the seed's loss), and
for a distribution head KL(Gaussian label distribution || predicted) + |expected age - age| / 10
years (DLDL-v2's two terms, the L1 put in decades so both are of order one). The validation loss
that early stopping and the learning-rate schedule watch leaves the KL term out: on held-out faces
it keeps rising as the predicted distributions sharpen, while the age error it stands in for keeps
falling (seen in the first lite0-ft run: stopped at epoch 10 on the KL while the MAE still improved).

Inputs are "views" of the training set (e.g. plain and mirrored), each an array with one row per
sample: uint8 NHWC pixels (normalised here) or cached float16 stem features. Each batch row draws a
random view, which is how mirroring augments cached features that cannot be flipped after the fact.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vitalens.tasks.face_age_gender.model import AGE_SCALE, FaceNet, FaceOutputs, normalise


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
    age_sigma: float = 2.0  # years: the spread of a distribution head's target around the true age
    augment: bool = False  # random flips, affine jitter and brightness/contrast on pixel inputs
    seed: int = 0


# What each backbone trains with unless told otherwise (chosen on the validation split).
RECOMMENDED_CONFIGS: dict[str, dict] = {
    "lite0-ft": {"epochs": 16, "learning_rate": 5e-4, "gender_weight": 2.0, "age_weight": 1.0, "augment": True},
}


def recommended_config(backbone: str, **overrides) -> FaceTrainingConfig:
    settings = RECOMMENDED_CONFIGS.get(backbone, {}) | {k: v for k, v in overrides.items() if v is not None}
    return FaceTrainingConfig(**settings)


def age_loss(outputs: FaceOutputs, age_years: torch.Tensor, sigma: float, with_kl: bool = True) -> torch.Tensor:
    if outputs.age_logits is None:
        return F.mse_loss(outputs.age_scaled, age_years / AGE_SCALE)
    l1_decades = F.l1_loss(outputs.age_scaled * AGE_SCALE, age_years) / 10.0
    if not with_kl:
        return l1_decades
    years = torch.arange(outputs.age_logits.shape[1], dtype=torch.float32)
    target = torch.softmax(-0.5 * ((years[None, :] - age_years[:, None]) / sigma) ** 2, dim=1)
    kl = F.kl_div(torch.log_softmax(outputs.age_logits, dim=1), target, reduction="batchmean")
    return kl + l1_decades


def multitask_loss(outputs: FaceOutputs, gender: torch.Tensor, age_years: torch.Tensor, config: FaceTrainingConfig,
                   validation: bool = False) -> torch.Tensor:  # fmt: skip
    gender_term = F.cross_entropy(outputs.gender_logits, gender)
    return config.gender_weight * gender_term + config.age_weight * age_loss(outputs, age_years, config.age_sigma, with_kl=not validation)


def augment_pixels(normalised: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per image: a mirror half the time, scale 0.9-1.1, rotation within 10 degrees, shift within 5 %,
    contrast 0.8-1.2 and brightness +-0.1 (in normalised units)."""
    n = normalised.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    scale, angle = uniform(0.9, 1.1), torch.deg2rad(uniform(-10.0, 10.0))
    mirror = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = mirror * torch.cos(angle) / scale, -torch.sin(angle) / scale
    theta[:, 1, 0], theta[:, 1, 1] = mirror * torch.sin(angle) / scale, torch.cos(angle) / scale
    theta[:, :, 2] = torch.stack([uniform(-0.05, 0.05), uniform(-0.05, 0.05)], dim=1)
    grid = F.affine_grid(theta, list(normalised.shape), align_corners=False)
    warped = F.grid_sample(normalised, grid, padding_mode="reflection", align_corners=False)
    return warped * uniform(0.8, 1.2)[:, None, None, None] + uniform(-0.1, 0.1)[:, None, None, None]


def model_outputs(model: FaceNet, batch: np.ndarray, generator: torch.Generator | None = None) -> FaceOutputs:
    """uint8 NHWC pixels go through the whole network (augmented when a generator is given); float
    arrays are cached stem features."""
    if batch.dtype == np.uint8:
        normalised = normalise(torch.from_numpy(np.ascontiguousarray(batch)), model.prep)
        if generator is not None:
            normalised = augment_pixels(normalised, generator)
        return model.outputs(model.stem(normalised))
    return model.outputs(torch.from_numpy(np.ascontiguousarray(batch)).float())


def batched_outputs(model: FaceNet, inputs: np.ndarray, batch_size: int = 256) -> Iterator[tuple[slice, FaceOutputs]]:
    """The model in eval mode over `inputs` (pixels or cached stem features), one (rows, outputs) per batch."""
    model.eval()
    for start in range(0, len(inputs), batch_size):
        rows = slice(start, start + batch_size)
        with torch.no_grad():
            outputs = model_outputs(model, inputs[rows])
        yield rows, outputs


def predict_arrays(model: FaceNet, inputs: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Gender logits [N, 2] and age in years [N] for pixels or cached stem features."""
    logits, ages = [], []
    for _, outputs in batched_outputs(model, inputs, batch_size):
        logits.append(outputs.gender_logits.numpy())
        ages.append(outputs.age_scaled.numpy() * AGE_SCALE)
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
        generator = torch.Generator().manual_seed(self.config.seed + self.next_epoch) if self.config.augment else None
        started = time.monotonic()
        for epoch in range(self.next_epoch, self.config.epochs):
            epoch_start = time.monotonic()
            train_loss = self._train_epoch(train_views, train_age, train_gender, rng, generator, epoch)
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

    def _train_epoch(self, views, ages, genders, rng, generator, epoch) -> float:
        from rich.progress import track

        self.model.train()
        self.model.stem.eval()  # frozen ImageNet statistics; a no-op for trunks without a stem
        order = rng.permutation(len(ages))
        batches = range(0, len(order), self.config.batch_size)
        total = 0.0
        for start in track(batches, f"epoch {epoch + 1}", disable=not self.progress, transient=True):
            index = np.sort(order[start : start + self.config.batch_size])
            view = rng.integers(len(views), size=len(index))
            batch = np.stack([views[v][i] for v, i in zip(view, index)])
            outputs = model_outputs(self.model, batch, generator)
            loss = multitask_loss(outputs, torch.from_numpy(genders[index]).long(), torch.from_numpy(ages[index]).float(), self.config)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(index)
        return total / len(order)

    def _loss_on(self, inputs, ages, genders) -> float:
        total = 0.0
        for rows, outputs in batched_outputs(self.model, inputs):
            loss = multitask_loss(outputs, torch.from_numpy(genders[rows]).long(), torch.from_numpy(ages[rows]).float(), self.config, validation=True)
            total += float(loss) * len(ages[rows])
        return total / len(ages)

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
        try:  # weights_only: tensors, numbers, strings and containers of them, never an arbitrary object
            state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            raise ValueError(f"{path}: holds more than weights and numbers, so it is not read (unpickling could run code); delete it to train from scratch.") from None
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.next_epoch, self.best_loss, self.best_state = state["next_epoch"], state["best_loss"], state["best_state"]
        self.epochs_without_gain, self.history = state["epochs_without_gain"], state["history"]
        print(f"resuming from {path} after epoch {self.next_epoch}", flush=True)


def count_trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
