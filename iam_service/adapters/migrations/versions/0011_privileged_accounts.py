"""privileged-account inventory and rotation

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

from iam_service.adapters import orm  # noqa: F401 - custom column types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
