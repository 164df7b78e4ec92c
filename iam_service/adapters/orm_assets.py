"""The asset register's tables (5.9, 7.2, 7.10) and its repository, which
never commits.

``assets`` holds the current state; ``asset_assignments`` the history of
who held what, one row per period; ``spare_card_checks`` the periodic
confirmations of the spare security cards (7.2).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, select
from sqlalchemy.orm import Session

from iam_service.adapters import orm, row_lock
from iam_service.domain.assets import (
    Asset,
    AssetAssignment,
    AssetCondition,
    AssetState,
    AssetType,
    AssignmentEnd,
    CheckStatus,
    SpareCardCheck,
    normalise_key,
)

assets = Table(
    "assets",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("asset_type", orm._enum(AssetType), nullable=False),
    Column("tag", String(64), nullable=False, unique=True),
    Column("serial", String(128), unique=True),
    Column("card_number", String(32), unique=True),
    Column("description", String(200), nullable=False, default=""),
    Column("state", orm._enum(AssetState), nullable=False),
    Column("holder_id", ForeignKey("persons.id"), index=True),
    Column("note", Text, nullable=False, default=""),
    Column("registered_at", orm.UtcDateTime, nullable=False),
    Column("registered_by", String(200), nullable=False),
    Column("updated_at", orm.UtcDateTime, nullable=False),
    Index("ix_assets_type_state", "asset_type", "state"),
)

asset_assignments = Table(
    "asset_assignments",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("asset_id", ForeignKey("assets.id"), nullable=False, index=True),
    Column("person_id", ForeignKey("persons.id"), nullable=False, index=True),
    Column("assigned_at", orm.UtcDateTime, nullable=False),
    Column("assigned_by", String(200), nullable=False),
    Column("ended_at", orm.UtcDateTime),
    Column("ended_by", String(200)),
    Column("outcome", orm._enum(AssignmentEnd)),
    Column("condition", orm._enum(AssetCondition)),
    Column("received_by", String(200)),
    Column("note", Text, nullable=False, default=""),
)

spare_card_checks = Table(
    "spare_card_checks",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("opened_at", orm.UtcDateTime, nullable=False, index=True),
    Column("expected", orm.Json, nullable=False),
    Column("status", orm._enum(CheckStatus), nullable=False),
    Column("present", orm.Json),
    Column("missing", orm.Json),
    Column("completed_at", orm.UtcDateTime),
    Column("completed_by", String(200)),
    Column("note", Text, nullable=False, default=""),
)

orm.register(Asset, assets)
orm.register(AssetAssignment, asset_assignments)
orm.register(SpareCardCheck, spare_card_checks)


class AssetRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, asset: Asset) -> None:
        self.session.add(asset)

    def get(self, asset_id: int) -> Asset | None:
        return self.session.get(Asset, asset_id)

    def by_tag(self, tag: str, *, lock: bool = False) -> Asset | None:
        query = select(Asset).where(assets.c.tag == normalise_key(tag))
        return row_lock.one_or_none(self.session, query, lock=lock)

    def by_serial(self, serial: str) -> Asset | None:
        query = select(Asset).where(assets.c.serial == normalise_key(serial))
        return self.session.scalars(query).one_or_none()

    def by_card_number(self, card_number: str) -> Asset | None:
        query = select(Asset).where(assets.c.card_number == card_number)
        return self.session.scalars(query).one_or_none()

    def held_by(self, person_id: int) -> Sequence[Asset]:
        query = select(Asset).where(
            assets.c.holder_id == person_id, assets.c.state == AssetState.IN_USE
        )
        return self.session.scalars(query.order_by(assets.c.tag)).all()

    def find(
        self,
        *,
        asset_type: AssetType | None = None,
        states: Collection[AssetState] | None = None,
        holder_id: int | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> Sequence[Asset]:
        query = select(Asset)
        if asset_type is not None:
            query = query.where(assets.c.asset_type == asset_type)
        if states:
            query = query.where(assets.c.state.in_(list(states)))
        if holder_id is not None:
            query = query.where(assets.c.holder_id == holder_id)
        query = query.order_by(assets.c.tag).limit(limit).offset(offset)
        return self.session.scalars(query).all()

    def add_assignment(self, assignment: AssetAssignment) -> None:
        self.session.add(assignment)

    def current_assignment(self, asset_id: int) -> AssetAssignment | None:
        t = asset_assignments
        query = select(AssetAssignment).where(
            t.c.asset_id == asset_id, t.c.ended_at.is_(None)
        )
        return self.session.scalars(query.order_by(t.c.id.desc()).limit(1)).first()

    def history(self, asset_id: int) -> Sequence[AssetAssignment]:
        t = asset_assignments
        query = select(AssetAssignment).where(t.c.asset_id == asset_id)
        return self.session.scalars(query.order_by(t.c.id)).all()

    # -- spare-card checks (7.2) ------------------------------------------
    def add_check(self, check: SpareCardCheck) -> None:
        self.session.add(check)

    def get_check(self, check_id: int) -> SpareCardCheck | None:
        return self.session.get(SpareCardCheck, check_id)

    def checks(self, limit: int = 50) -> Sequence[SpareCardCheck]:
        t = spare_card_checks
        query = select(SpareCardCheck).order_by(t.c.id.desc()).limit(limit)
        return self.session.scalars(query).all()

    def latest_check(self) -> SpareCardCheck | None:
        found = self.checks(limit=1)
        return found[0] if found else None
