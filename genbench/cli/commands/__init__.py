"""One module per ``genbench`` subcommand: ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``handle(args)``."""
