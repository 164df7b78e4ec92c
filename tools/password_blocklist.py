"""Build the shipped blocklist of common passwords from patterns of our own.

``python -m tools.password_blocklist`` rewrites
``iam_service/adapters/data/common_passwords.txt``; a unit test checks the
shipped file is exactly what this makes, so its provenance is this file.

No third-party password list is copied. The list is built from public,
well-known facts about how people choose passwords (ADR 0026): a handful of
base words people use (the word "password" itself, greetings, pets,
sports, seasons, Japanese words in romaji, ...), written here by us; the
rows and columns of a QWERTY keyboard walked in both directions; runs and
repeats of digits; years. The lookup (``domain.password_rules.Blocklist``)
folds case and leetspeak and strips digits and symbols around a word, so
``Password1!``, ``P@ssw0rd`` and ``!2024password`` all match the single
entry ``password``: the file needs no variants.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

TARGET = (
    Path(__file__).resolve().parent.parent
    / "iam_service"
    / "adapters"
    / "data"
    / "common_passwords.txt"
)

# Words people build passwords on, grouped by theme (our own choice).
BASE_WORDS = {
    "the word itself": """password passwort passwd passw pass pasuwado pwd
        secret himitsu letmein login logon signin welcome youkoso changeme
        default temp temporary test tester testing guest user username
        admin administrator root super superuser master access open sesame
        opensesame trustno trustme nopassword newpassword mypassword
        mypass oldpassword knock""",
    "affection": """iloveyou loveyou love lover lovely loveme daisuki aishiteru
        suki baby babygirl sweetheart sweety honey darling angel kiss
        forever together friend friends bestfriend""",
    "greetings and moods": """hello hi hey hallo konnichiwa ohayou arigato
        arigatou sayonara whatever nothing happy smile lucky sunshine
        rainbow dream dreamer freedom peace magic wonder awesome cool
        crazy genki kawaii""",
    "animals": """monkey dragon tiger lion bear wolf eagle falcon shark dolphin
        horse pony kitten kitty cat dog puppy doggy bunny rabbit turtle
        panda penguin mouse snake spider buffalo cobra neko inu usagi
        tora ryu kuma""",
    "sports": """football soccer baseball basketball hockey tennis golf rugby
        volleyball cricket boxing skate racing yakyu sakka""",
    "heroes and games": """superman batman spiderman ironman starwars pokemon
        pikachu doraemon totoro gundam naruto mario zelda minecraft
        matrix ninja samurai shogun jedi""",
    "people": """michael jennifer jessica ashley daniel thomas jordan charlie
        andrew robert william david james john maria anna taro hanako
        ichiro yuki sakura haruka hiroshi takashi kenji akira yumi""",
    "places": """tokyo osaka kyoto nagoya yokohama sapporo fukuoka kobe
        okinawa hokkaido nihon nippon japan fujisan fuji london paris
        newyork america canada""",
    "time": """spring summer autumn fall winter haru natsu aki fuyu january
        february march april may june july august september october
        november december monday tuesday wednesday thursday friday
        saturday sunday today tomorrow""",
    "things": """computer internet server network office company business
        work shigoto kaisha money cash gold silver diamond coffee chocolate
        cookie cheese pizza sushi ramen banana apple orange cherry flower
        music guitar piano soldier killer shadow ghost hunter ranger pirate
        rocket star moon sun sky blue red green black white""",
}

KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
# Walks down the columns, and the usual zig-zags across two rows.
KEYBOARD_WALKS = (
    "1qaz2wsx3edc4rfv5tgb",
    "qazwsxedcrfvtgb",
    "zaq1xsw2cde3vfr4",
    "1q2w3e4r5t6y7u8i9o0p",
    "q1w2e3r4t5y6",
    "a1s2d3f4",
    "qweasdzxc",
    "qwe123asd",
    "qweasd",
    "asdzxc",
    "zxcasdqwe",
    "1a2b3c4d",
    "a1b2c3d4e5",
    "abc123",
    "abcd1234",
    "abcdef",
    "abcdefg",
    "abcdefgh",
)
MIN_WALK = 4


def _words() -> Iterator[str]:
    for text in BASE_WORDS.values():
        yield from text.split()


def _walks() -> Iterator[str]:
    for row in (*KEYBOARD_ROWS, *KEYBOARD_WALKS):
        for start in range(len(row)):
            for end in range(start + MIN_WALK, len(row) + 1):
                piece = row[start:end]
                yield piece
                yield piece[::-1]


def _digits() -> Iterator[str]:
    for digit in "0123456789":
        for length in range(4, 13):
            yield digit * length
    for length in range(4, 11):
        yield "1234567890"[:length]
        yield "0987654321"[:length]
        yield "9876543210"[:length]
    for block in ("12", "123", "1234", "12345", "21", "321", "69", "007"):
        for times in range(2, 5):
            yield block * times
    for pair in "0123456789":
        yield "".join(str(d) * 2 for d in range(int(pair), 10))[:12]
    for year in range(1940, 2041):
        yield str(year)


def build() -> list[str]:
    """Every entry, lower case, unique, sorted."""
    entries = {w.casefold() for w in (*_words(), *_walks(), *_digits())}
    return sorted(e for e in entries if len(e) >= MIN_WALK or e.isalpha())


HEADER = """\
# Common password patterns refused by the password rules (5.17).
# Generated by tools/password_blocklist.py from patterns of our own making
# (base words, keyboard walks, digit runs, years); no third-party list was
# copied. Do not edit by hand: change the tool and run
#   python -m tools.password_blocklist
# Lookups fold case and leetspeak and strip digits and symbols around a word.
"""


def render() -> str:
    return HEADER + "\n".join(build()) + "\n"


def main() -> int:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"{TARGET}: {len(build())} entries\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
