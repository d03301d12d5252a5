"""Domain errors raised by services; the HTTP layer maps them to status codes.

``NotFound`` -> 404, ``Conflict`` -> 409, ``InvalidInput`` -> 422 naming the field. They carry
no HTTP types so that activities and the CLI can raise and catch them too.
"""

from __future__ import annotations

import re

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The resource does not exist *for this sub-account* (a foreign id is indistinguishable)."""

    def __init__(self, resource: str) -> None:
        super().__init__(f"{resource} not found")
        self.resource = resource


class Conflict(DomainError):
    """The request collides with an existing record (a phone, email or external id in use)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInput(DomainError):
    """A value is well-formed but unacceptable; ``field`` is a path like ``phones[1].number``."""

    def __init__(self, field: str, message: str, location: str = "body") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message
        self.location = location

    @property
    def loc(self) -> tuple[str | int, ...]:
        """The field path in FastAPI's ``loc`` form: ``("body", "phones", 1, "number")``."""
        parts: list[str | int] = [self.location]
        for name, index in _PATH_PART.findall(self.field):
            parts.append(int(index) if index else name)
        return tuple(parts)
