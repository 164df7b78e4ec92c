"""The ASGI application: API routers, health and metrics."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from iam_service import metrics
from iam_service.bootstrap import Container
from iam_service.web import scim
from iam_service.web.api import (
    access_requests,
    assets,
    console_roles,
    departments,
    elevations,
    hr,
    identities,
    mover_reviews,
    offboarding,
    passwords,
    policy,
    privileged,
    reconcile,
    reviews,
    systems,
)
from iam_service.web.errors import install_error_handlers
from iam_service.web.ui import install_console


def create_app(container: Container) -> FastAPI:
    app = FastAPI(title="IAM lifecycle service", version="0.1.0")
    app.state.container = container
    install_error_handlers(app)
    app.include_router(hr.router)
    app.include_router(identities.router)
    app.include_router(scim.router)
    app.include_router(systems.router)
    app.include_router(access_requests.router)
    app.include_router(access_requests.exceptions_router)
    app.include_router(departments.router)
    app.include_router(mover_reviews.router)
    app.include_router(policy.router)
    app.include_router(console_roles.router)
    app.include_router(assets.router)
    app.include_router(offboarding.router)
    app.include_router(reviews.campaigns_router)
    app.include_router(reviews.reviews_router)
    app.include_router(elevations.router)
    app.include_router(reconcile.router)
    app.include_router(privileged.router)  # 8.2, 5.18
    app.include_router(privileged.handovers_router)
    app.include_router(privileged.rotations_router)
    app.include_router(passwords.router)  # 5.17
    install_console(app)  # last: it wraps the error handlers above
    registry = metrics.registry_with(container.store_counts)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        with container.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
