"""The command line's sub-commands (``cli.py`` parses; these do the work)."""
