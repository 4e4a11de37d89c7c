"""One module per command group. Each exposes ``register(subparsers)`` which adds its parser
and sets ``handler=<function(args) -> int>`` via ``set_defaults``. The handler returns the
exit code; it may print (cli/ is the only layer that does) and lets :class:`SopsError`
propagate to the edge in :mod:`sopskit.cli.main`, which prints one line and exits with the
error's code.
"""
