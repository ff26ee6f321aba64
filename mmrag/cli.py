"""The ``mmrag`` command: a thin root whose commands the packages that own them register.

api/ registers serve and keys, workers/ worker and ingest, index/ backup, restore and
models, retrieve/ search, generate/ ask. Command modules import only what they need to
declare their options; stores and models load when a command runs.
"""

from __future__ import annotations

import importlib

import typer

# Named, not imported: the kernel depends on no entry point or stage (import contracts).
COMMAND_MODULES = (
    "api.commands",
    "workers.commands",
    "retrieve.commands",
    "retrieve.tune_command",
    "generate.commands",
    "index.commands",
    "index.model_commands",
)

app = typer.Typer(
    help="mmrag: multimodal retrieval and RAG service.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def register_commands(root: typer.Typer) -> None:
    """Add every package's commands to ``root``."""
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(root)


register_commands(app)
