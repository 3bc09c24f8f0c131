"""Task options from the command line: a YAML config (a run's config.yaml or a plain mapping) and
`-o key=value` pairs, checked by the task (`Task.parse_options`) so an option it does not take is an error;
and the engine options every heavy verb takes."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer
import yaml

from vitalens.tasks import get_task


def parse_options(task_name: str, verb: str, config: Optional[Path], pairs: Optional[list[str]]) -> dict[str, Any]:
    given: dict[str, Any] = {}
    if config:
        loaded = yaml.safe_load(Path(config).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{config}: a config must be a YAML mapping of option: value")
        if loaded.get("task", task_name) != task_name:
            raise ValueError(f"{config}: written for task {loaded['task']!r}, not {task_name!r}; pass --task {loaded['task']} or another config")
        loaded = loaded.get("options", loaded)  # a run's config.yaml, or a plain mapping
        given.update({k: v for k, v in loaded.items() if k not in ("task", "verb", "data", "vitalens_version")})
    given.update(option_pairs(pairs))
    return get_task(task_name).parse_options(verb, given)


def option_pairs(pairs: Optional[list[str]]) -> dict[str, str]:
    """-o key=value pairs as a mapping (values still strings: the task parses them)."""
    given = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"-o {pair!r}: write options as key=value")
        given[key.strip().replace("-", "_")] = value
    return given


# Where independent pieces run (`vitalens.scale`): shared by predict, evaluate and train.
Engine = Enum("Engine", {"local": "local", "ray": "ray"}, type=str)  # typer lists and checks the choices
EngineOption = typer.Option("local", "--engine", help="local, or ray: run independent pieces (predict's batches, evaluate's folds) on Ray")
WorkersOption = typer.Option(2, "--workers", min=1, help="with --engine ray: workers (and CPUs of a local Ray)")
AddressOption = typer.Option(None, "--address", help="with --engine ray: join this Ray cluster instead of starting one")
