"""User-facing errors.

Every problem caused by the user's input (a config file, a trace, a command-line value) is raised as a
:class:`PimsimError` subclass with a message that names the file, the key path, the bad value and
what was expected. The command line prints the message and exits with status 2; it never shows a
traceback for these.
"""

from __future__ import annotations


class PimsimError(Exception):
    """An error in the user's input; the message is complete and shown as is."""

    exit_code = 2


class ConfigError(PimsimError):
    """A hardware or workload configuration is malformed or inconsistent."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None,
                 value: object = None, expected: str | None = None) -> None:
        parts = []
        if file:
            parts.append(str(file))
        if key:
            parts.append(f"key '{key}'")
        where = ": ".join(parts)
        text = message
        if value is not None:
            text += f" (got {value!r})"
        if expected:
            text += f"; expected {expected}"
        super().__init__(f"{where}: {text}" if where else text)
        self.file, self.key, self.value, self.expected = file, key, value, expected
        self.reason = text                  #: the message without its file and key


class TraceError(PimsimError):
    """An operator or memory-request trace is malformed (the message names file and line)."""


class ModelError(PimsimError):
    """An unknown model name or an unusable model description."""
