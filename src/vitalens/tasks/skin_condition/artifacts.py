"""What a skin training run keeps on disk as it goes: a timestamped log, cached arrays (a finished stage
survives a crash in a later one) and per-photo predictions as CSV (the evaluation reads only these)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd


class RunLog:
    def __init__(self, path: Path):
        self.path = path

    def __call__(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        print(line, flush=True)
        with self.path.open("a") as handle:
            handle.write(line + "\n")


def cached(path: Path, compute):
    if path.is_file():
        return np.load(path)
    value = compute()
    np.save(path, value)
    return value


def write_predictions(path: Path, rows: pd.DataFrame, logits: np.ndarray, classes: list[str], lighting: np.ndarray | None = None) -> None:
    columns = ["image_id", "label", "three_partition", "group", "fitzpatrick", "fitzpatrick_group", "ita", "ita_group", "lighting_good"] + ["fold"] * ("fold" in rows)
    frame = rows[columns].reset_index(drop=True).copy()
    if lighting is not None:
        frame["lighting_good_prob"] = lighting
    logit_frame = pd.DataFrame(logits, columns=[f"logit::{c}" for c in classes])
    pd.concat([frame, logit_frame], axis=1).to_csv(path, index=False)


def progress_log(log, what: str, every: int = 640):
    def report(done: int, total: int) -> None:
        if done % every < 32 or done == total:
            log(f"{what}: {done}/{total} photos")
    return report
