"""``iamctl reviews``: periodic access review campaigns from the command line
(5.18): start, list, close, export the sealed report, verify the seal."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from iam_service.bootstrap import Container
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.errors import ServiceError


@contextmanager
def _refusals() -> Iterator[None]:
    """A refusal of the service is a message and exit status 1."""
    try:
        yield
    except ServiceError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from None


def build_reviews_app(container: Callable[[], Container], actor: str) -> typer.Typer:
    """The ``reviews`` sub-command; ``container`` builds the service."""
    app = typer.Typer(
        help="Access review campaigns (5.18): start, close, report, verify.",
        no_args_is_help=True,
    )
    # The operator at the console of the server reads as the auditor would.
    reader = Principal(
        name=actor, roles=frozenset({Role.AUDITOR, Role.SECURITY_OFFICER}), kind="cli"
    )

    @app.command("start")
    def start(definition: str) -> None:
        """Start a campaign of DEFINITION (an id under access_reviews.campaigns)."""
        with _refusals():
            campaign = container().access_reviews.starter.start(
                definition, f"cli:{actor}"
            )
        typer.echo(
            f"campaign {campaign.id} started: {campaign.items_total} items, "
            f"due {campaign.due_at:%Y-%m-%d %H:%M} UTC"
        )

    @app.command("list")
    def list_() -> None:
        """Campaigns, newest first, with their progress."""
        for c in container().access_reviews.views.campaigns(reader):
            p = c["progress"]
            typer.echo(
                f"{c['id']}\t{c['definition']}\t{c['status']}\t"
                f"{p['decided']}/{p['total']} decided\tdue {c['due_at']}"
            )

    @app.command("close")
    def close(campaign_id: int) -> None:
        """Close a campaign now: undecided items as its policy says, then seal."""
        with _refusals():
            campaign = container().access_reviews.closer.close(
                campaign_id, f"cli:{actor}"
            )
        typer.echo(
            f"campaign {campaign_id} closed; sealed by audit record "
            f"{campaign.evidence_seq} ({campaign.evidence_hash})"
        )

    @app.command("report")
    def report(
        campaign_id: int,
        pdf: Annotated[Path | None, typer.Option(help="Write the PDF here.")] = None,
        csv: Annotated[Path | None, typer.Option(help="Write the CSV here.")] = None,
    ) -> None:
        """Write the campaign's sealed report as PDF and/or CSV."""
        if pdf is None and csv is None:
            raise typer.BadParameter("give --pdf FILE and/or --csv FILE")
        reports = container().access_reviews.reports
        with _refusals():
            if pdf is not None:
                pdf.write_bytes(reports.pdf(campaign_id, reader))
                typer.echo(f"wrote {pdf}")
            if csv is not None:
                csv.write_text(reports.csv(campaign_id, reader), encoding="utf-8")
                typer.echo(f"wrote {csv}")

    @app.command("verify")
    def verify(campaign_id: int) -> None:
        """Check the seal: the audit chain is intact, the close record is in
        it unchanged, and the decisions still give the sealed digest."""
        with _refusals():
            result = container().access_reviews.reports.verify(campaign_id)
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
        if not result["ok"]:
            raise typer.Exit(1)

    return app
