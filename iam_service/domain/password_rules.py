"""Password rules as policy (5.17, 8.5): checked for every password a person
chooses, and met by every password the service generates.

``PasswordRules`` is the ``passwords:`` section of the policy
(``policies/passwords.yaml``). ``check`` says which rules a password breaks,
with zxcvbn's score, warning and suggestions (English; the web layer
translates them with our catalogue). ``generate`` makes a random password
that meets our rules *and* a target system's (``TargetRules``).

Pure: the blocklist words and the history test are handed in through
``PasswordContext`` by the service layer, which reads the file and the
hashes. Nothing here logs, stores or returns a password.
"""

from __future__ import annotations

import enum
import re
import secrets
import string
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from zxcvbn import zxcvbn

# zxcvbn refuses longer input (ValueError); longer passwords are scored on
# their first 72 characters, which only ever underrates them.
ZXCVBN_MAX_LENGTH = 72
# Symbols used in generated passwords: printable ASCII punctuation without
# quotes, backslash, backtick and space, which break shells, CSV and forms.
SYMBOLS = "!#$%&()*+,-./:;<=>?@[]^_{|}~"
# A name part shorter than this is too common to refuse (AD uses 3 too).
_MIN_PERSONAL = 3
_GENERATE_TRIES = 100
_SPLIT = re.compile(r"[,.\-_#\s]+")


class CharacterKind(enum.StrEnum):
    """The kinds of character 5.17 names: 英大文字, 英小文字, 数字, 記号."""

    UPPER = "upper"
    LOWER = "lower"
    DIGIT = "digit"
    SYMBOL = "symbol"


class Rule(enum.StrEnum):
    """A rule a password can break; the web layer has a message for each."""

    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    TOO_FEW_KINDS = "too_few_kinds"
    FORBIDDEN_CHARACTER = "forbidden_character"
    TOO_GUESSABLE = "too_guessable"
    COMMON = "common"
    PERSONAL = "personal"
    REUSED = "reused"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PasswordRules(_Strict):
    """The organisation's password rules; the defaults follow 5.17 and 8.5."""

    # 5.17, 8.5: at least 8 characters; a policy may ask for more.
    min_length: int = Field(default=8, ge=8, le=256)
    # Long passphrases are welcome: the maximum is never below 64.
    max_length: int = Field(default=128, ge=64, le=1024)
    # 5.17: several kinds among upper case, lower case, digits and symbols.
    min_kinds: int = Field(default=3, ge=2, le=4)
    # zxcvbn's 0..4; 3 means "safely unguessable" for online attacks.
    min_score: int = Field(default=3, ge=1, le=4)
    # Refuse the shipped list of common and breached passwords.
    blocklist: bool = True
    # The organisation's own words to refuse (product names, the office).
    blocked_words: tuple[str, ...] = ()
    # More words zxcvbn should treat as known (the company in romaji, ...).
    context_words: tuple[str, ...] = ()
    # Refuse a password holding the user name or a name of the person.
    refuse_personal: bool = True
    # How many previous passwords (kept as argon2 hashes only) are refused.
    history: int = Field(default=5, ge=0, le=24)
    # Length of the passwords the service generates (nobody types them).
    generated_length: int = Field(default=24, ge=8, le=256)

    @model_validator(mode="after")
    def _consistent(self) -> PasswordRules:
        if self.min_length > self.max_length:
            raise ValueError("min_length is above max_length")
        if not self.min_length <= self.generated_length <= self.max_length:
            raise ValueError("generated_length must lie between the min and max")
        return self


class TargetRules(_Strict):
    """What a target system accepts, where it is narrower than ours: a SaaS
    with a short maximum, a BIOS without symbols, a device needing a digit."""

    min_length: int = Field(default=1, ge=1, le=1024)
    max_length: int | None = Field(default=None, ge=1, le=1024)
    min_kinds: int = Field(default=1, ge=1, le=4)
    required_kinds: tuple[CharacterKind, ...] = ()
    # The symbols it accepts; None: all of ours, "": none at all.
    symbols: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TargetRules:
        if self.max_length is not None and self.min_length > self.max_length:
            raise ValueError("min_length is above max_length")
        return self


class Blocklist:
    """Common and breached passwords, matched after normalising what people
    do to them: case, leetspeak (``P@ssw0rd``), digits and symbols stuck on
    either end (``Password1!``, ``!2024summer``)."""

    def __init__(self, words: Iterable[str]) -> None:
        self._words = frozenset(w.strip().casefold() for w in words if w.strip())

    def __len__(self) -> int:
        return len(self._words)

    def contains(self, password: str) -> bool:
        return any(form in self._words for form in _forms(password))


_LEET = str.maketrans(
    {"0": "o", "1": "i", "!": "i", "3": "e", "4": "a", "@": "a", "$": "s",
     "5": "s", "7": "t", "+": "t", "8": "b", "9": "g", "|": "l"}
)  # fmt: skip
_EDGES = string.digits + string.punctuation + " "


def _forms(password: str) -> set[str]:
    lowered = unicodedata.normalize("NFKC", password).casefold()
    stem = lowered.strip(_EDGES)
    forms = {lowered, lowered.translate(_LEET)}
    if stem:
        forms |= {stem, stem.translate(_LEET)}
    # "p@ssw0rd1" strips to "p@ssw0rd"; its leet form strips further.
    forms |= {f.strip(_EDGES) for f in list(forms)}
    forms.discard("")
    return forms


@dataclass(frozen=True)
class PasswordContext:
    """What a check knows besides the password.

    ``names``: the person's given and family names and user names (refused
    inside a password, and zxcvbn context); ``company``: the organisation's
    name(s) (zxcvbn context); ``reused``: whether the password matches one
    of the person's last ``rules.history`` on this system (the service tests
    it against argon2 hashes); ``None`` when unknown (a live check).
    """

    rules: PasswordRules = field(default_factory=PasswordRules)
    names: tuple[str, ...] = ()
    company: tuple[str, ...] = ()
    blocklist: Blocklist | None = None
    reused: Callable[[str], bool] | None = None

    def user_inputs(self) -> list[str]:
        """zxcvbn's context: each value, its parts ("Example Trading" gives
        "example" and "trading") and the parts run together."""
        found: dict[str, None] = {}
        for value in (*self.names, *self.company, *self.rules.context_words):
            normal = unicodedata.normalize("NFKC", value).casefold().strip()
            for word in (normal, *_SPLIT.split(normal), _SPLIT.sub("", normal)):
                if len(word) >= _MIN_PERSONAL:
                    found[word[:ZXCVBN_MAX_LENGTH]] = None
        return list(found)


@dataclass(frozen=True)
class RuleFailure:
    """A broken rule and the limit it set (``min_length`` for too short)."""

    rule: Rule
    limit: int | None = None


@dataclass(frozen=True)
class RuleResult:
    """The verdict on one password. Never holds the password itself."""

    failures: tuple[RuleFailure, ...]
    score: int  # zxcvbn 0..4
    warning: str  # zxcvbn's, in English; "" when it has none
    suggestions: tuple[str, ...]
    length: int
    kinds: frozenset[CharacterKind]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failed(self) -> frozenset[Rule]:
        return frozenset(f.rule for f in self.failures)


def kind_of(char: str) -> CharacterKind | None:
    """The 5.17 kind of one character; letters without case (kana, kanji)
    and spaces are allowed but count as none of the four (AD agrees)."""
    if char.isupper():
        return CharacterKind.UPPER
    if char.islower():
        return CharacterKind.LOWER
    if char.isdigit():
        return CharacterKind.DIGIT
    if unicodedata.category(char)[0] in "PS":
        return CharacterKind.SYMBOL
    return None


def kinds_in(password: str) -> frozenset[CharacterKind]:
    return frozenset(k for k in map(kind_of, password) if k is not None)


def check(password: str, context: PasswordContext) -> RuleResult:
    """Every rule of ``context.rules`` the password breaks, with zxcvbn's
    score and feedback (scored on the first 72 characters)."""
    rules = context.rules
    kinds = kinds_in(password)
    failures = _shape_failures(password, rules, kinds)
    strength = _strength(password, context.user_inputs())
    score = int(strength["score"])
    if score < rules.min_score:
        failures.append(RuleFailure(Rule.TOO_GUESSABLE, rules.min_score))
    if _is_common(password, context):
        failures.append(RuleFailure(Rule.COMMON))
    if rules.refuse_personal and _holds_personal(password, context.names):
        failures.append(RuleFailure(Rule.PERSONAL))
    if context.reused is not None and rules.history and context.reused(password):
        failures.append(RuleFailure(Rule.REUSED, rules.history))
    feedback = strength["feedback"]
    return RuleResult(
        failures=tuple(failures),
        score=score,
        warning=str(feedback.get("warning") or ""),
        suggestions=tuple(str(s) for s in feedback.get("suggestions") or ()),
        length=len(password),
        kinds=kinds,
    )


def _shape_failures(
    password: str, rules: PasswordRules, kinds: frozenset[CharacterKind]
) -> list[RuleFailure]:
    failures = []
    if len(password) < rules.min_length:
        failures.append(RuleFailure(Rule.TOO_SHORT, rules.min_length))
    if len(password) > rules.max_length:
        failures.append(RuleFailure(Rule.TOO_LONG, rules.max_length))
    if len(kinds) < rules.min_kinds:
        failures.append(RuleFailure(Rule.TOO_FEW_KINDS, rules.min_kinds))
    # Control characters cannot be typed at a sign-in prompt on every system.
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in password):
        failures.append(RuleFailure(Rule.FORBIDDEN_CHARACTER))
    return failures


def _strength(password: str, user_inputs: list[str]) -> dict[str, Any]:
    if not password:
        return {"score": 0, "feedback": {"warning": "", "suggestions": []}}
    result: dict[str, Any] = zxcvbn(
        password[:ZXCVBN_MAX_LENGTH], user_inputs=user_inputs
    )
    return result


def _is_common(password: str, context: PasswordContext) -> bool:
    shipped = context.blocklist if context.rules.blocklist else None
    return (shipped is not None and shipped.contains(password)) or Blocklist(
        context.rules.blocked_words
    ).contains(password)


def _holds_personal(password: str, names: Iterable[str]) -> bool:
    lowered = unicodedata.normalize("NFKC", password).casefold()
    for name in names:
        for part in _name_parts(name):
            if len(part) >= _MIN_PERSONAL and part in lowered:
                return True
    return False


def _name_parts(name: str) -> set[str]:
    # AD splits display names at these characters; we do the same, and keep
    # the whole value too (a user name such as "t.yamada").
    normal = unicodedata.normalize("NFKC", name).casefold().strip()
    return {p for p in (normal, *_SPLIT.split(normal)) if p}


def generate(rules: PasswordRules, target_rules: TargetRules | None = None) -> str:
    """A random password (``secrets``) meeting ``rules`` and ``target_rules``.

    Its length is ``rules.generated_length`` brought within both systems'
    bounds; it holds every kind both allow (at least as many as either
    asks). Raises ``ValueError`` when the two cannot both be met (a target
    whose maximum is below our minimum, or with too few kinds).
    """
    target = target_rules or TargetRules()
    length, high, alphabets = _plan(rules, target)
    context = PasswordContext(rules=rules)
    for attempt in range(_GENERATE_TRIES):
        # zxcvbn scores a random string by its length: 8 characters never
        # reach score 3, so a length that keeps failing grows (within bounds).
        length = min(high, length + (attempt > 0 and attempt % 10 == 0))
        candidate = _draw(length, alphabets)
        if check(candidate, context).ok and _meets_target(candidate, target):
            return candidate
    raise ValueError(
        f"no random password of {length} characters met the rules "
        f"(min_score {rules.min_score} needs a longer password)"
    )


def _plan(
    rules: PasswordRules, target: TargetRules
) -> tuple[int, int, dict[CharacterKind, str]]:
    low = max(rules.min_length, target.min_length)
    high = min(rules.max_length, target.max_length or rules.max_length)
    if low > high:
        raise ValueError(
            f"the target allows at most {high} characters, our rules ask for {low}"
        )
    symbols = SYMBOLS if target.symbols is None else _allowed_symbols(target.symbols)
    alphabets = {
        CharacterKind.UPPER: string.ascii_uppercase,
        CharacterKind.LOWER: string.ascii_lowercase,
        CharacterKind.DIGIT: string.digits,
        CharacterKind.SYMBOL: symbols,
    }
    alphabets = {k: a for k, a in alphabets.items() if a}
    needed = max(rules.min_kinds, target.min_kinds)
    missing = [k for k in target.required_kinds if k not in alphabets]
    if len(alphabets) < needed or missing:
        raise ValueError("the target's characters cannot make enough kinds")
    # Short passwords from fewer kinds need more length to score well;
    # every kind is used, so the lower bound is also a safe length.
    length = min(high, max(low, rules.generated_length, len(alphabets)))
    return length, high, alphabets


def _allowed_symbols(accepted: str) -> str:
    return "".join(
        dict.fromkeys(c for c in accepted if kind_of(c) is CharacterKind.SYMBOL)
    )


def _draw(length: int, alphabets: dict[CharacterKind, str]) -> str:
    chars = [secrets.choice(a) for a in alphabets.values()]
    everything = "".join(alphabets.values())
    chars += [secrets.choice(everything) for _ in range(length - len(chars))]
    # Fisher-Yates with a CSPRNG: the guaranteed kinds are not always first.
    for i in range(len(chars) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def _meets_target(password: str, target: TargetRules) -> bool:
    kinds = kinds_in(password)
    return (
        len(password) >= target.min_length
        and (target.max_length is None or len(password) <= target.max_length)
        and len(kinds) >= target.min_kinds
        and all(k in kinds for k in target.required_kinds)
    )
