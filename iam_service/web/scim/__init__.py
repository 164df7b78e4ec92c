"""The inbound SCIM 2.0 endpoint, ``/scim/v2``.

See ``docs/decisions/0009-inbound-scim.md``.
"""

from __future__ import annotations

from fastapi import APIRouter

from iam_service.web.scim import discovery, users
from iam_service.web.scim.responses import ScimRoute

router = APIRouter(prefix="/scim/v2", tags=["scim"], route_class=ScimRoute)
router.include_router(users.router)
router.include_router(discovery.router)  # last: it ends with the catch-all
