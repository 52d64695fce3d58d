"""Errors of the fetch path, in a module of their own so every floor of it can raise them."""

from __future__ import annotations

__all__ = ["AnswerShapeError", "FetchError"]


class FetchError(Exception):
    """A provider's model list could not be fetched or understood."""

    def __init__(
        self,
        message: str,
        http_status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.http_status = http_status
        # Worth asking again: 429, 5xx, resets, timeouts. retry_after is the server's wish.
        self.retryable = retryable
        self.retry_after = retry_after
        # Nothing accepted the connection (refused, no route): a local server that is not running.
        self.connect_failed = False
        # The host name did not resolve (offline, or no DNS): asked again once, not at length.
        self.unresolved = False


class AnswerShapeError(FetchError):
    """The answer is JSON, but not a model list in any shape we can find."""
