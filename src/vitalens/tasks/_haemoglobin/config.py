"""Run configuration: defaults in code, overridable from YAML and the command line."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class RunConfig:
    task: str = ""
    data: str = ""
    run_name: str = ""
    experiments_dir: str = "experiments"
    features: str = "colour_red"
    head: str = "median"
    crop_size: int = 32
    backbone: str = "efficientnet_lite0"
    cnn_input_size: int = 96
    fit_on: str = "photo"
    scheme: str = "loso"
    n_splits: int = 3
    seed: int = 0
    anaemia_threshold: float = 12.0
    interval_coverage: float = 0.9
    n_boot: int = 1000
    audit_attributes: list[str] = field(default_factory=lambda: ["skin_tone_group"])

    def model_params(self) -> dict[str, Any]:
        return {"features": self.features, "head": self.head, "crop_size": self.crop_size, "backbone": self.backbone, "cnn_input_size": self.cnn_input_size, "fit_on": self.fit_on}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None, **overrides: Any) -> RunConfig:
    """Defaults, then the YAML file, then explicit overrides (None means 'not given')."""
    values: dict[str, Any] = {}
    if path:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: a config must be a YAML mapping of field: value")
        values.update(loaded)
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown config field(s) {unknown}; known fields: {sorted(known)}")
    return RunConfig(**values)
