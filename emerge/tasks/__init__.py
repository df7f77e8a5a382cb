"""Prediction tasks as objects: each declares its label (built from the cohort), the goal its RAG
summary serves, its monitored validation metric and its positive class. Mortality and readmission
are registered here; `register_task` adds one (see `emerge.tasks.base`)."""

from emerge.tasks.base import ColumnTask, Task
from emerge.tasks.registry import GENERIC, MULTITASK, get_task, register_task, resolve_tasks, task_names

__all__ = [
    "Task",
    "ColumnTask",
    "register_task",
    "get_task",
    "resolve_tasks",
    "task_names",
    "MULTITASK",
    "GENERIC",
]
