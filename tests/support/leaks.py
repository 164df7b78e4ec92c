"""Looking for secrets where they must never be (5.17): a dump of the whole
database, logs, the audit trail, captured e-mails.

``forms_of(secret)`` is what a leak could look like: the value itself and
its base64 (standard and URL-safe), including when it was encoded inside a
longer text (each of the three alignments). ``find_leaks(secrets, places)``
answers which secret turned up where; ``database_dump(engine, schema)``
reads every table of the service's store into one text (binary columns as
latin-1 and hex too, so sealed bytes are searched as well).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Engine, MetaData, select


def forms_of(secret: str) -> set[str]:
    raw = secret.encode()
    found = {secret}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for offset in range(3):
            text = encode(b"\0" * offset + raw).decode()
            # Drop the characters that also carry the neighbouring bytes.
            start = (offset * 4 + 2) // 3 + (1 if offset else 0)
            middle = text[start:].rstrip("=")
            middle = middle[: len(middle) - 2] if len(middle) > 8 else middle
            if len(middle) >= 8:
                found.add(middle)
    return found


def find_leaks(
    secrets: Iterable[str], places: Mapping[str, str]
) -> list[tuple[str, str]]:
    """``(secret, place)`` for every secret seen in a place (any form)."""
    leaks = []
    for secret in secrets:
        forms = forms_of(secret)
        for place, text in places.items():
            if any(form in text for form in forms):
                leaks.append((secret, place))
    return leaks


def database_dump(engine: Engine, schema: str | None = None) -> str:
    """Every row of every table, as text."""
    metadata = MetaData(schema=schema)
    metadata.reflect(bind=engine)
    lines: list[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                lines.append(f"{table.name}: " + " | ".join(map(_text, row)))
    return "\n".join(lines)


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return data.decode("latin-1") + " " + data.hex()
    return str(value)
