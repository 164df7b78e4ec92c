"""``iamctl demo seed``: dummy demo data (8.33)."""

from __future__ import annotations

import typer

from iam_service.cli.context import fail, service

demo_app = typer.Typer(help="Dummy demo data (8.33).", no_args_is_help=True)


@demo_app.command("seed")
def demo_seed(url: str = "http://127.0.0.1:8000") -> None:
    """Create demo tokens, an administrator and fictitious people."""
    from iam_service.demo import seed

    container = service()
    if not container.settings.demo_mode:
        raise fail("demo data goes only into a demo (IAM_DEMO_MODE=1)")
    credentials = seed(container)
    typer.echo(f"\nThe service: {url}   (API docs: {url}/docs)")
    typer.echo(
        f"Local administrator: {credentials.admin_user} / {credentials.admin_password}"
    )
    typer.echo("API tokens (shown once):")
    for role, token in credentials.tokens.items():
        typer.echo(f"  {role:<17} {token}")
    hr = credentials.tokens["hr"]
    typer.echo("\nTry a hire:")
    typer.echo(
        f"  curl -s -X POST {url}/api/v1/hr/events -H 'Authorization: Bearer {hr}' "
        '-H \'Content-Type: application/json\' -d \'{"event_id": "try-1", '
        '"type": "hire", "employee": {"employee_id": "D0100", '
        '"given_name": "Kaito", "family_name": "Mori", '
        '"email": "kaito.mori@example.test", "department": "ENG", '
        '"title": "Engineer"}}\''
    )
    typer.echo(
        f"  curl -s {url}/api/v1/identities/D0100 -H 'Authorization: Bearer {hr}'"
    )
