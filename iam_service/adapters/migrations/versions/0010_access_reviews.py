"""access review campaigns and decisions

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

from iam_service.adapters import orm  # noqa: F401 - custom column types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
