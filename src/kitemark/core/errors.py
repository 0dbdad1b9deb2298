"""Errors that end a run with a one-line message instead of a traceback."""


class UsageError(Exception):
    """Bad command line or configuration (missing target path, malformed waivers file): exit code 2."""
