"""The connector's exception hierarchy (one place, like requests.exceptions).

Messages never contain the API key: the client builds them from status codes and Twenty's own error text only.
"""

from __future__ import annotations


class TwentyDestinationError(Exception):
    """Base of every error the connector raises on purpose."""


class ConfigError(TwentyDestinationError):
    """The configuration or catalog cannot work; the user must change it (Airbyte `config_error`)."""


class RecordRejected(TwentyDestinationError):
    """One record cannot be written: bad value in the source, or Twenty refused it.

    `field` is the Twenty field (dot path) when known, `reason` a sentence a user can act on.
    """

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason if field is None else f"{field}: {reason}")
        self.reason = reason
        self.field = field


class TwentyAPIError(TwentyDestinationError):
    """Twenty answered with an error. `status` is the HTTP status (None for connection errors)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.attempts = 1  # set by the client: a verdict after a retry may be on what the lost attempt stored


class AuthenticationError(TwentyAPIError):
    """401/403: the key is wrong, revoked or lacks a permission. Not retried."""


class DataError(TwentyAPIError):
    """Twenty refused the data of a request (400, or a 500 caused by a database constraint). Never retried
    as is: the writer splits the batch to find the record at fault."""


class TransientAPIError(TwentyAPIError):
    """429, 5xx, timeouts or dropped connections that outlived the retry budget (Airbyte `transient_error`)."""


class RedirectRefused(TwentyAPIError, ConfigError):
    """api_url answered with a redirect. We never follow one (the key must not reach another host), so only a
    config change can fix it."""


class RequestCancelled(TransientAPIError):
    """A throttled call not tried again because the sync is stopping (`TwentyClient.stop_retrying_when`): a 429
    stored nothing, so nothing is lost; the sync's real cause of failure is reported instead."""
