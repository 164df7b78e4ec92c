"""Generated passwords: long, random, with every kind of character (5.17)."""

from __future__ import annotations

import secrets
import string

SYMBOLS = "!#$%&()*+,-./:;<=>?@[]^_{|}~"
_CLASSES = (string.ascii_uppercase, string.ascii_lowercase, string.digits, SYMBOLS)


def generate_password(length: int = 24) -> str:
    """A random password holding each character class at least once.

    Nobody ever sees the passwords this makes for new accounts or leavers:
    they are set on the target and forgotten (5.17: never stored).
    """
    if length < len(_CLASSES):
        raise ValueError("too short to hold every character class")
    alphabet = "".join(_CLASSES)
    chars = [secrets.choice(c) for c in _CLASSES]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    # Fisher-Yates with a CSPRNG, so the class-guaranteed characters are
    # not always at the front.
    for i in range(len(chars) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)
