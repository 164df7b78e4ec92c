"""The audit hash chain finds any edited or deleted record (8.15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from iam_service.domain.audit import GENESIS_HASH, AuditRecord, redact, verify_chain


def _chain(n: int) -> list[AuditRecord]:
    records, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        r = AuditRecord(
            actor="hr",
            action="person.hired",
            target=f"person:E{i}",
            at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
            after={"n": i},
        )
        r.seal(i, prev)
        prev = r.hash
        records.append(r)
    return records


def test_an_untouched_chain_verifies() -> None:
    report = verify_chain(_chain(5))
    assert report.ok and report.checked == 5


def test_an_edited_record_is_found() -> None:
    records = _chain(5)
    records[2].after = {"n": 999}
    report = verify_chain(records)
    assert [b.seq for b in report.breaks] == [3]


def test_a_deleted_record_is_found() -> None:
    records = _chain(5)
    del records[1]
    report = verify_chain(records)
    assert report.breaks and report.breaks[0].seq == 3
    assert "missing" in report.breaks[0].problem


def test_a_re_sealed_forgery_breaks_the_link_to_the_next_record() -> None:
    records = _chain(4)
    forged = records[1]
    forged.reason = "nothing to see"
    forged.seal(2, records[0].hash)  # the forger recomputes this record's hash
    report = verify_chain(records)
    assert [b.seq for b in report.breaks] == [3]


def test_a_pruned_chain_verifies_from_its_anchor() -> None:
    records = _chain(6)
    report = verify_chain(records[3:], anchor_seq=3, anchor_hash=records[2].hash)
    assert report.ok


def test_secrets_never_enter_a_record() -> None:
    clean = redact({"password": "x", "nested": {"client_secret": "y"}, "group": "GG"})
    assert clean == {
        "password": "[redacted]",
        "nested": {"client_secret": "[redacted]"},
        "group": "GG",
    }
