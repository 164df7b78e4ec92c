"""What every ``iamctl`` command shares: the service it runs against, who it
acts as, and how it refuses."""

from __future__ import annotations

import getpass

import typer

from iam_service.bootstrap import Container, bootstrap
from iam_service.settings import SettingsError

CLI_ACTOR = "cli:" + getpass.getuser()

_open: list[Container] = []


def service(*, sync_register: bool = True) -> Container:
    """The service for this command; its connections close when it ends."""
    try:
        built = bootstrap(sync_register=sync_register)
    except SettingsError as error:
        typer.echo(f"refusing to start: {error}", err=True)
        raise typer.Exit(2) from None
    _open.append(built)
    return built


def close_containers() -> None:
    """Close what ``service`` opened (the root callback calls it on exit)."""
    while _open:
        _open.pop().close()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print MESSAGE on stderr; the exit to raise, with status CODE."""
    typer.echo(message, err=True)
    return typer.Exit(code)
