"""password history and one-time secrets

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

from iam_service.adapters import orm  # noqa: F401 - custom column types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
