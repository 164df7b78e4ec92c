"""Running the service: ``iamctl db upgrade``, ``serve``, ``worker`` and
``jobs run``."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from iam_service.adapters.database import upgrade
from iam_service.bootstrap import Container
from iam_service.cli.context import fail, service
from iam_service.settings import load_settings

db_app = typer.Typer(help="The database.", no_args_is_help=True)
jobs_app = typer.Typer(help="Periodic jobs.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the schema (IAM_DATABASE_URL)."""
    settings = load_settings()
    if settings.is_sqlite:
        Path(settings.database_url.split("///", 1)[-1]).parent.mkdir(
            parents=True, exist_ok=True
        )
    upgrade(settings.database_url, schema=settings.database_schema, revision=revision)
    typer.echo(f"database at {revision}")


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    with_worker: Annotated[
        bool, typer.Option(help="Also run a worker in-process.")
    ] = False,
    scheduler: Annotated[bool, typer.Option(help="Run the periodic jobs.")] = True,
) -> None:
    """Serve the API (and, optionally, the worker)."""
    import uvicorn

    from iam_service.web.app import create_app
    from jobs.scheduler import start_scheduler

    container = service()
    stop = threading.Event()
    if scheduler and container.settings.scheduler_enabled:
        start_scheduler(container)
    if with_worker:
        threading.Thread(
            target=_run_worker, args=(container, stop, None), daemon=True
        ).start()
    uvicorn.run(
        create_app(container),
        host=host,
        port=port,
        log_level=container.settings.log_level.lower(),
    )
    stop.set()


def worker(
    threads: Annotated[int | None, typer.Option(help="Worker threads.")] = None,
    once: Annotated[bool, typer.Option(help="Run what is due now, then exit.")] = False,
) -> None:
    """Apply queued operations to the target systems."""
    container = service()
    if once:
        from jobs.worker import ConnectorPool, Worker, WorkerConfig

        pool = ConnectorPool(container.connector_factory)
        done = Worker(container.queue, pool, WorkerConfig(threads=1)).drain()
        pool.close()
        typer.echo(f"{done} operations run")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    _run_worker(container, stop, threads)


def _run_worker(
    container: Container, stop: threading.Event, threads: int | None
) -> None:
    from jobs.listener import start_listener
    from jobs.worker import ConnectorPool, Wakeup, Worker, WorkerConfig

    settings = container.settings
    wakeup = Wakeup()
    if not settings.is_sqlite:
        start_listener(settings.database_url, wakeup, stop)
    config = WorkerConfig(
        threads=threads or settings.worker_threads,
        poll_seconds=settings.queue_poll_seconds,
        reap_every_seconds=max(1.0, settings.queue_lease_seconds / 4),
        limits=container.connectors_file.parallel_limits(),
    )
    Worker(
        container.queue,
        ConnectorPool(container.connector_factory),
        config,
        wakeup=wakeup,
    ).run(stop)


@jobs_app.command("run")
def jobs_run(name: str) -> None:
    """Run one periodic job now."""
    from jobs.scheduler import JOBS, run_exclusive

    job = next((j for j in JOBS if j.name == name), None)
    if job is None:
        raise fail(f"no job {name!r}; jobs: {', '.join(j.name for j in JOBS)}")
    ran = run_exclusive(service(), job)
    typer.echo(f"{name}: {'ran' if ran else 'skipped (running elsewhere)'}")
