"""``python -m sopskit``."""

from sopskit.cli.main import main

main()
