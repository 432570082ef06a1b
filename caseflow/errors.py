"""Named domain exceptions. Each carries the Chinese message shown at the edge."""
from __future__ import annotations


class DomainError(Exception):
    """Base: a rule refused the request; ``message`` is for the user (Chinese)."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class IllegalTransition(DomainError):
    """The action is not possible in the current state; nothing was changed."""

    status = 409


class NotAllowed(DomainError):
    """The user's role or unit may not do this."""

    status = 403


class NotInJurisdiction(DomainError):
    """The object lies outside the user's part of the unit tree; shown as 404."""

    status = 404


class ConcurrentUpdate(DomainError):
    """Someone else changed the record first; the user's input is kept for retry."""

    status = 409

    def __init__(self, message: str = "该记录刚刚已被他人修改，您的修改未保存。请核对最新内容后重新提交（您填写的内容已保留）。"):
        super().__init__(message)


class TooManyAttempts(DomainError):
    """Too many wrong codes or passwords; wait before trying again."""

    status = 429


class InvalidInput(DomainError):
    """Input a form could not catch (a rule that needs the database)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
