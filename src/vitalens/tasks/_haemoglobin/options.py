"""The options of the Hb run configuration (RunConfig's fields), declared as task options."""

from __future__ import annotations

import dataclasses
from typing import Any

from vitalens.tasks.spec import Option

# fields the spine fills itself (from --data and --out) or that are not settable as options
_NOT_OPTIONS = {"task", "data", "run_name", "experiments_dir"}
_HELP = {
    "features": "colour, colour_red, cnn or hybrid",
    "head": "median, ridge or catboost",
    "scheme": "loso (leave one group out) or kfold",
    "n_splits": "folds for kfold",
    "audit_attributes": "comma-separated attributes to disaggregate by",
}


def run_config_options(config: Any, only: tuple[str, ...] = ()) -> tuple[Option, ...]:
    options = []
    for item in dataclasses.fields(config):
        if item.name in _NOT_OPTIONS or (only and item.name not in only):
            continue
        default = getattr(config, item.name)
        options.append(Option(item.name, type(default), default, _HELP.get(item.name, "")))
    return tuple(options)
