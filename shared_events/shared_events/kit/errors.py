"""The errors a service function raises when it will not do what it was asked, whatever called
it: an API view, the admin, a management command or a task. Services never raise HTTP types;
`api.exception_handler` maps these to a status, the admin shows their message.

Invalid input stays Django's `ValidationError` (a 400 with field-level messages), because model
forms and the admin already speak it."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the refusals below; `message` is shown to the caller as the response's detail."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The thing asked for does not exist here, or the caller may not know that it does."""

    status_code = 404


class Refused(DomainError):
    """The caller is known and the request well formed, but a rule forbids it: a deleted
    account voting, a delegator who is not eligible, an action reserved to operators."""

    status_code = 403


class Conflict(DomainError):
    """The request contradicts the current state (a poll already closed, a record that cannot
    change any more); the same request may succeed once the state allows it."""

    status_code = 409


__all__ = ["Conflict", "DomainError", "NotFound", "Refused"]
