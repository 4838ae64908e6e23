"""The one exception users see: what happened, and what to do about it."""

from __future__ import annotations


class TutorError(Exception):
    """A failure the user can fix; the CLI prints it as one line, never a traceback."""

    def __init__(self, message: str, fix: str = "", exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message} (fix: {self.fix})" if self.fix else self.message
