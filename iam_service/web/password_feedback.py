"""Password check results in the reader's language (5.17).

zxcvbn's warnings and suggestions are English; we translate the strings it
is known to produce with our own catalogue (``locales/<lang>/passwords.json``,
``passwords.zxcvbn.*``). A string we do not know yet (a newer zxcvbn) is
shown as it is rather than dropped. Rules get ``passwords.rule.<rule>``
messages. Used by the API and the console page alike.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from iam_service.domain.password_rules import RuleResult
from iam_service.web.ui.i18n import LANG_COOKIE, LANGUAGES, Translator, choose_language

ZXCVBN_KEYS = {
    "Use a few words, avoid common phrases.": "use_few_words",
    "Add another word or two. Uncommon words are better.": "add_word",
    "Straight rows of keys are easy to guess.": "straight_rows",
    "Short keyboard patterns are easy to guess.": "short_keyboard",
    "Use a longer keyboard pattern with more turns.": "longer_keyboard",
    'Repeats like "aaa" are easy to guess.': "repeats_aaa",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': (
        "repeats_abc"
    ),
    "Avoid repeated words and characters.": "avoid_repeats",
    'Sequences like "abc" or "6543" are easy to guess.': "sequences",
    "Avoid sequences.": "avoid_sequences",
    "Recent years are easy to guess.": "recent_years",
    "Avoid recent years.": "avoid_recent_years",
    "Avoid years that are associated with you.": "avoid_your_years",
    "Dates are often easy to guess.": "dates",
    "Avoid dates and years that are associated with you.": "avoid_your_dates",
    "This is a top-10 common password.": "top10",
    "This is a top-100 common password.": "top100",
    "This is a very common password.": "very_common",
    "This is similar to a commonly used password.": "similar_common",
    "A word by itself is easy to guess.": "word_alone",
    "Names and surnames by themselves are easy to guess.": "names_alone",
    "Common names and surnames are easy to guess.": "common_names",
    "Capitalization doesn't help very much.": "capitalization",
    "All-uppercase is almost as easy to guess as all-lowercase.": "all_uppercase",
    "Reversed words aren't much harder to guess.": "reversed",
    "Predictable substitutions like '@' instead of 'a' don't help very much.": (
        "substitutions"
    ),
}
# zxcvbn says this for an empty password; our rules say otherwise (5.17).
_CONTRADICTS_US = "No need for symbols, digits, or uppercase letters."


def language(request: Request, asked: str | None = None) -> str:
    """``asked`` (a ``lang`` parameter), else the console cookie, else the
    browser's Accept-Language, else the organisation's language."""
    if asked in LANGUAGES:
        return str(asked)
    default = request.app.state.container.settings.console_language
    return choose_language(
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
        default,
    )


def translate_zxcvbn(text: str, t: Translator) -> str:
    key = ZXCVBN_KEYS.get(text)
    return t(f"passwords.zxcvbn.{key}") if key else text


def feedback(result: RuleResult, min_score: int, lang: str) -> dict[str, Any]:
    """The result as JSON-ready data in ``lang``; never the password."""
    t = Translator(lang)
    return {
        "ok": result.ok,
        "score": result.score,
        "min_score": min_score,
        "length": result.length,
        "kinds": sorted(str(k) for k in result.kinds),
        "failures": [
            {
                "rule": str(f.rule),
                "limit": f.limit,
                "message": t(
                    f"passwords.rule.{f.rule}", limit=f.limit, score=result.score
                ),
            }
            for f in result.failures
        ],
        "warning": translate_zxcvbn(result.warning, t) if result.warning else None,
        "suggestions": [
            translate_zxcvbn(s, t) for s in result.suggestions if s != _CONTRADICTS_US
        ],
        "lang": lang,
    }
