"""``make bench``: run the benchmarks and update docs/benchmarks.md.

``python -m benchmarks.run`` runs all; ``python -m benchmarks.run termination``
runs the named ones.
"""

from __future__ import annotations

import importlib
import sys

ALL = (
    "termination",
    "fanout",
    "entra_connector",
    "scim_connector",
    "reconcile_100k",  # builds its cached 100k directory on first use (~20+ min)
    "review_quality",
    "review_campaign",
    "review_page",
    "privileged_rotation",
)


def main(names: list[str]) -> None:
    for name in names or list(ALL):
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name}: {module.run()}")


if __name__ == "__main__":
    main(sys.argv[1:])
