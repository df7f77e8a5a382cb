"""The `emerge` console script: one subcommand per pipeline step, each a thin wrapper over an
importable function. Logging is configured here and nowhere else.

How a run ends (`main`):
- success: exit 0;
- an error the user can fix (`foundation.errors.UserInputError`, a bad option, a file the machine
  will not let us read or write, a full disk): one line naming the value and the fix, exit 2;
- Ctrl-C: "interrupted; finished work is kept ...", exit 130 (every step writes atomically and resumes);
- a genuine bug: Python's traceback, exit 1.
"""

from __future__ import annotations

import logging
import sys
import warnings

import click

from foundation.errors import UserInputError

__all__ = ["main", "cli", "quiet_lightning", "INTERRUPTED"]

_LIGHTNING = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning")
_NOISY = (
    "httpx",
    "urllib3",
    "filelock",
    "fsspec",
    "matplotlib",
    "faiss",
    "faiss.loader",
    "transformers",
    "sentence_transformers",
    "huggingface_hub",
    "accelerate",
    "torch.distributed",
    *_LIGHTNING,
)

# Nothing is downloaded and nothing is reported to a hub at run time (patient text and model use stay
# on this machine); library progress bars are replaced by our own. Set before the libraries are imported.
_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}
_DEFAULTS = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def _offline_environment() -> None:
    import os

    os.environ.update(_ENVIRONMENT)
    for name, value in _DEFAULTS.items():
        os.environ.setdefault(name, value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="-v for INFO (default), -vv for DEBUG.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.version_option(package_name="emerge-drehr")
def cli(verbose: int, quiet: bool) -> None:
    """Retrieval-augmented clinical prediction: data, knowledge graphs, DR.EHR retriever, RAG, models."""
    _offline_environment()
    level = logging.WARNING if quiet else (logging.DEBUG if verbose >= 2 else logging.INFO)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.captureWarnings(True)  # a library's warnings.warn becomes one log line, not two lines of source
    # Lightning's advisory warnings (tips, logging interval, deprecations inside Lightning itself)
    # say nothing actionable to a user of this CLI.
    for pattern in (
        r".*LeafSpec.*",
        r".*log_every_n_steps.*",
        r".*litlogger.*",
        r".*does not have many workers.*",
        r".*exists and is not empty.*",
        r".*Previous log files in this directory.*",
    ):
        warnings.filterwarnings("ignore", message=pattern)


def quiet_lightning() -> None:
    """Import Lightning now and undo what its import does to logging: it sets its loggers to INFO and
    adds its own console handler, which would print every "GPU available" line twice. Commands that
    train call this first; the levels then stay as `cli` set them (warnings and errors still show)."""
    import lightning  # noqa: F401  (the import is the point)

    for name in _LIGHTNING:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, logging.WARNING))
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True


def _register() -> None:
    # Each module defines one click group or command; importing them is cheap (heavy imports
    # happen inside the commands).
    from emerge.cli import data, kg, llm, rag, retriever, run

    for module in (data, kg, retriever, llm, rag, run):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into a one-line message and exit status 2."""
    try:
        cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:  # click's name for a KeyboardInterrupt (Ctrl-C) inside a command
        click.echo(INTERRUPTED, err=True)
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UserInputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        if not _is_environment_error(exc):
            raise
        from foundation.inputs import describe_os_error

        click.echo(f"error: {describe_os_error(exc)}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo(INTERRUPTED, err=True)
        sys.exit(130)


INTERRUPTED = "interrupted; finished work is kept on disk and a rerun resumes from it"


def _is_environment_error(exc: OSError) -> bool:
    """Permission denied, a full or read-only disk, a folder where a file should be: the machine's doing."""
    import errno

    return isinstance(exc, (PermissionError, IsADirectoryError, NotADirectoryError)) or exc.errno in (
        errno.ENOSPC,
        errno.EROFS,
        errno.EDQUOT,
        errno.EACCES,
    )
