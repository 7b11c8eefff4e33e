"""``python -m xgate`` is the ``xgate`` command."""

from xgate.cli import main

main()
