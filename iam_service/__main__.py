"""``python -m iam_service`` is ``iamctl``."""

from iam_service.cli import main

main()
