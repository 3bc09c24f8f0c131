"""The task registry: every task vitalens knows, each one package under vitalens/tasks/.

Registering a task is one line in TASK_PACKAGES; the package's `__init__` defines `TASK` (a
`vitalens.tasks.spec.Task`). The CLI, the runtime, the service and the browser's mode list are all
built from this registry, and nothing outside vitalens/tasks/ names a task. Importing the registry
is torch-free: a task's training world is named by strings and imported only when a verb runs.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from vitalens.tasks.spec import Option, Target, Task, TaskError

TASK_PACKAGES = (
    "hb_nails",
    "hb_lips",
    "face_age_gender",
    "skin_condition",
    "hb_conjunctiva",
)


@lru_cache(maxsize=None)
def _registry() -> dict[str, Task]:
    tasks = [importlib.import_module(f"{__name__}.{package}").TASK for package in TASK_PACKAGES]
    return {task.name: task for task in tasks}


def all_tasks() -> dict[str, Task]:
    """Name -> Task, in registration order (the first is the default of every command)."""
    return dict(_registry())


def default_task() -> str:
    return next(iter(_registry()))


def get_task(name: str) -> Task:
    try:
        return _registry()[name]
    except KeyError:
        raise TaskError(f"unknown task {name!r}; known: {', '.join(_registry())}") from None


__all__ = ["Option", "Target", "Task", "TaskError", "TASK_PACKAGES", "all_tasks", "default_task", "get_task"]
