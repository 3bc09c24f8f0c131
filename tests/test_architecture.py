"""The shape of the code, as tests: one-way dependencies, no cycles, small modules, no task named
outside its package, one Python module behind every JS twin, and every task answering every verb."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vitalens.runs import RUN_FILES
from vitalens.tasks import TASK_PACKAGES, all_tasks, get_task
from vitalens.tasks.spec import TaskError, resolve

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "vitalens"
HEAVY = ("torch", "sklearn", "pandas", "scipy")
MAX_LINES = 300


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """vitalens modules `path` imports anywhere (function-level too: a lazy import is still a dependency).
    The code base imports absolutely; `from a import b` counts as both `a` and `a.b` (b may be a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return {module for module in found if module.startswith("vitalens")}


def test_serving_world_imports_no_training_library():
    """The CLI, the service, the runtime and every task's predictor and commands run without torch, sklearn, pandas or scipy."""
    probe = (
        "import sys\n"
        "import vitalens.cli, vitalens.predict, vitalens.runtime, vitalens.service\n"
        "from vitalens.tasks import all_tasks\n"
        "from vitalens.tasks.spec import resolve\n"
        "for task in all_tasks().values():\n"
        "    task.predictor_class()\n"
        "    [resolve(c) for c in task.commands]\n"
        "from vitalens.service import create_app\n"
        "create_app()\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_no_import_cycles():
    modules = _modules()
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    cycles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for neighbour in sorted(graph[node]):
            if state.get(neighbour) == "open":
                cycles.append(trail[trail.index(neighbour):] + [neighbour])
            elif neighbour not in state:
                visit(neighbour, trail + [neighbour])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_is_too_long():
    long = {str(p.relative_to(SRC)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_task_is_named_outside_its_package():
    names = "|".join(re.escape(name) for name in all_tasks())
    literal = re.compile(rf"""["']({names})["']""")
    offenders = [f"{p.relative_to(SRC)}:{i}" for p in PACKAGE.rglob("*.py") if "tasks" not in p.relative_to(PACKAGE).parts[:1]
                 for i, line in enumerate(p.read_text().splitlines(), 1) if literal.search(line)]  # fmt: skip
    assert not offenders, f"task names outside src/vitalens/tasks/: {offenders}"


def test_every_js_twin_names_one_python_module():
    for js in (PACKAGE / "webapp" / "js").glob("*.js"):
        twins = re.findall(r"^// twin: (\S+)", js.read_text(), flags=re.M)
        assert len(twins) == 1, f"{js.name}: needs exactly one '// twin: <python module>|none' line, has {twins}"
        if twins[0] != "none":
            assert (SRC / twins[0]).is_file(), f"{js.name}: its twin {twins[0]} does not exist"


def test_registry_is_one_line_per_task():
    assert [t.package.rsplit(".", 1)[-1] for t in all_tasks().values()] == list(TASK_PACKAGES)
    for task in all_tasks().values():
        assert task.predictor_class().__module__.startswith(task.package)
        assert all(resolve(reference) for reference in task.commands)


@pytest.mark.parametrize("task_name", list(all_tasks()))
def test_every_task_answers_every_verb(task_name):
    task = get_task(task_name)
    for verb in ("train", "evaluate", "export"):
        if verb in task.cannot:
            with pytest.raises(TaskError, match=f"cannot {verb}"):
                task.verb(verb)
        else:
            assert callable(task.verb(verb)), f"{task_name} has no {verb}"
    # predict and serve are the spine's, through the predictor: the shipped bundle must load into it
    from vitalens.runtime import load_predictor

    predictor = load_predictor(task=task_name)
    assert isinstance(predictor, task.predictor_class()) and callable(predictor.predict_image) and predictor.columns


def test_unknown_task_and_option_are_one_clear_error():
    with pytest.raises(TaskError, match=r"unknown task 'hb-nail'; known: "):
        get_task("hb-nail")
    task = next(iter(all_tasks().values()))
    with pytest.raises(TaskError, match="takes no option 'no_such_option'"):
        task.parse_options("evaluate", {"no_such_option": "1"})


def test_run_files_are_the_documented_ones():
    assert RUN_FILES == ("config.yaml", "report.json", "report.md", "metrics.csv", "predictions.csv")


def test_the_spine_imports_no_task_package():
    """Outside vitalens/tasks/, only the registry (vitalens.tasks) and the declaration types (vitalens.tasks.spec) are imported."""
    modules = _modules()
    offenders = {name: sorted(m for m in _imports(path) if m in modules and m.startswith("vitalens.tasks.") and m != "vitalens.tasks.spec")
                 for name, path in modules.items() if not name.startswith("vitalens.tasks")}  # fmt: skip
    assert not {k: v for k, v in offenders.items() if v}


def test_options_are_parsed_to_their_declared_types():
    from vitalens.tasks.spec import Option

    assert Option("n", int).parse("5") == 5 and Option("x", float).parse("0.5") == 0.5
    assert Option("b", bool).parse("true") is True and Option("b", bool).parse("no") is False
    assert Option("l", list).parse("sex, device") == ["sex", "device"] and Option("l", list).parse(["a"]) == ["a"]
    with pytest.raises(ValueError, match="is not of type int"):
        Option("n", int).parse("five")
    with pytest.raises(ValueError, match="not true or false"):
        Option("b", bool).parse("maybe")
