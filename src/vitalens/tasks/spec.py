"""What a task is: a declaration the spine reads, and nothing the spine has to know by name.

A task names its body site, its targets (one head each), the column that groups photos for validation,
the attributes it is audited by, the options each verb takes, and its hooks. Serving-world hooks (the
predictor) and training-world hooks (the lifecycle: train, evaluate, export) are "module:attr" strings,
imported only when used, so reading the registry never imports torch, scikit-learn or pandas.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

TargetKind = Literal["regression", "classification"]


@dataclass(frozen=True)
class Target:
    name: str
    kind: TargetKind
    unit: str = ""
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    """One option a task's verbs take (`-o name=value` on the command line, or a key in `--config`)."""

    name: str
    type: type = str
    default: Any = None
    help: str = ""
    verbs: tuple[str, ...] = ("train", "evaluate")
    choices: tuple[Any, ...] = ()  # when given, the only values it takes

    def parse(self, text: Any) -> Any:
        value = self._parse(text)
        if self.choices and value not in self.choices:
            raise TaskError(f"option {self.name}: {value!r} is not one of {', '.join(map(str, self.choices))}")
        return value

    def _parse(self, text: Any) -> Any:
        if not isinstance(text, str) or self.type is str:
            return text
        if self.type is list:  # "a,b" on the command line; a YAML list arrives as a list
            return [part.strip() for part in text.split(",") if part.strip()]
        if self.type is bool:
            lowered = text.strip().lower()
            if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError(f"option {self.name}: {text!r} is not true or false")
            return lowered in {"true", "1", "yes"}
        try:
            return self.type(text)
        except ValueError:
            raise ValueError(f"option {self.name}: {text!r} is not of type {self.type.__name__}") from None


class TaskError(ValueError):
    """A task cannot do what was asked (unknown task, verb it lacks, option it does not take): one line, exit 2."""


def resolve(reference: str) -> Any:
    """Import "package.module:attribute" (the lazy hooks of a task)."""
    module, _, attribute = reference.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded


@dataclass(frozen=True)
class Task:
    name: str
    body_site: str
    description: str
    targets: tuple[Target, ...]
    group_by: str
    predictor: str  # "module:Class" of the torch-free predictor; Class(bundle) -> predictor
    lifecycle: str = ""  # module with train(job), evaluate(job), export(job) (training world, imported lazily)
    loader: str = ""  # "module:function" loading the task's own dataset layout: function(path) -> Dataset
    recognises: str = ""  # "module:function": function(path) -> bool, is this folder in the task's layout?
    audit_attributes: tuple[str, ...] = ()
    interpretation: str | None = None
    options: tuple[Option, ...] = ()
    cannot: dict[str, str] = field(default_factory=dict)  # verb -> why this task cannot do it
    commands: tuple[str, ...] = ()  # "module:function" extra CLI commands (typer callables), named by the function
    browser_mode: str = ""  # the webapp module (webapp/js/<file>) that shows this task, "" if the browser has none
    demonstration: bool = False  # shipped as a demonstration, not a measurement (said on every screen)
    photo_tip: str = ""  # what a photo this task can read looks like: the tip of every "not this body site" refusal

    @property
    def primary_target(self) -> Target:
        return self.targets[0]

    @property
    def package(self) -> str:
        return self.predictor.partition(":")[0].rsplit(".", 1)[0]

    def target(self, name: str) -> Target:
        for candidate in self.targets:
            if candidate.name == name:
                return candidate
        raise KeyError(f"task {self.name!r} has no target {name!r}; it has {[t.name for t in self.targets]}")

    def predictor_class(self) -> Callable[..., Any]:
        return resolve(self.predictor)

    def verb(self, verb: str) -> Callable[..., Any]:
        """The lifecycle function for `verb`, or a TaskError saying why this task has none."""
        if verb in self.cannot:
            raise TaskError(f"task {self.name!r} cannot {verb}: {self.cannot[verb]}")
        function = getattr(resolve(self.lifecycle), verb, None) if self.lifecycle else None
        if function is None:
            raise TaskError(f"task {self.name!r} has no {verb} step in this release")
        return function

    def options_for(self, verb: str) -> dict[str, Option]:
        return {option.name: option for option in self.options if verb in option.verbs}

    def parse_options(self, verb: str, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults, then `given`; an option this verb of this task does not take is an error, never ignored."""
        accepted = self.options_for(verb)
        unknown = sorted(set(given) - set(accepted))
        if unknown:
            known = ", ".join(sorted(accepted)) or "none"
            raise TaskError(f"task {self.name!r} takes no option {', '.join(map(repr, unknown))} for {verb}; it takes: {known}")
        values = {name: option.default for name, option in accepted.items()}
        values.update({name: accepted[name].parse(value) for name, value in given.items()})
        return values
