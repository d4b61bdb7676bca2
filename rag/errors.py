"""Errors that mean "the user asked for something we cannot do", shown as one line, never a traceback."""


class UserError(Exception):
    """A mistake in the user's input or setup (missing path, absent index, settings mismatch)."""


class LoadError(UserError):
    """One file could not be read as a document; the run goes on without it."""
