"""``iamctl``, the operators' command line: ``app`` is the typer application,
``main`` the console script's entry point (``iamctl = "iam_service.cli:main"``).
The root command lives in ``root``, each command group in a module of its own,
and what they share (the per-command service, the actor, refusals) in
``context``."""

from iam_service.cli.root import app, main

__all__ = ["app", "main"]
