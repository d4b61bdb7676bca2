"""Errors that mean "the user asked for something we cannot do", shown as one line, never a traceback,
and the generator's failures, on which an answer falls back to the extractive one."""


class UserError(Exception):
    """A mistake in the user's input or setup (missing path, absent index, settings mismatch)."""


class LoadError(UserError):
    """One file could not be read as a document; the run goes on without it."""


class GenerationError(Exception):
    """The generator failed or stalled; the message says how, for the answer's note."""


class GenerationTimeout(GenerationError):
    """No token within the timeout: the generator may be hung, not merely slow."""
