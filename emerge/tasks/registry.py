"""Task objects by name: `register_task` refuses a second task of the same name; `get_task` names the
registered ones when a name is unknown; `resolve_tasks` turns a config's task entry into task objects
("multitask" = in-hospital mortality and 30-day readmission, EMERGE's two outcomes, trained jointly)."""

from __future__ import annotations

from emerge.tasks.base import Task
from foundation.errors import UserInputError

__all__ = ["register_task", "get_task", "task_names", "resolve_tasks", "MULTITASK", "GENERIC"]

MULTITASK = "multitask"
"""The task entry that trains mortality and readmission heads together."""
GENERIC = "generic"
"""A RAG summary written for no task in particular (both of EMERGE's outcomes)."""

_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Make `task` available by its name; a second task with the same name is refused."""
    name = getattr(task, "name", None)
    if not isinstance(name, str) or not name or name in (MULTITASK, GENERIC):
        raise UserInputError(f"a task needs a name other than {MULTITASK!r} and {GENERIC!r}, got {name!r}")
    if name in _TASKS and _TASKS[name] is not task:
        raise UserInputError(
            f"a task named {name!r} is already registered ({_TASKS[name]!r}); choose another name"
        )
    for attr in ("summary_goal", "positive_class"):
        if not isinstance(getattr(task, attr, None), str):
            raise UserInputError(f"task {name!r} must set `{attr}` (a string)")
    if task.monitor not in ("auprc", "auroc"):
        raise UserInputError(f"task {name!r}: monitor {task.monitor!r} must be 'auprc' or 'auroc'")
    _TASKS[name] = task
    return task


def get_task(name: str) -> Task:
    """The registered task called `name`."""
    _load_builtin()
    if name not in _TASKS:
        raise UserInputError(
            f"unknown task {name!r}; registered tasks: {sorted(_TASKS)} (or {MULTITASK!r}); "
            "a new task is registered with emerge.tasks.register_task"
        )
    return _TASKS[name]


def task_names() -> tuple[str, ...]:
    """The names of every registered task."""
    _load_builtin()
    return tuple(sorted(_TASKS))


def resolve_tasks(entry: str) -> tuple[Task, ...]:
    """A config's task entry: one task name, or "multitask" (mortality and readmission together)."""
    if entry == MULTITASK:
        return get_task("mortality"), get_task("readmission")
    return (get_task(entry),)


def _load_builtin() -> None:
    import emerge.tasks.builtin  # noqa: F401  (registers mortality and readmission)
