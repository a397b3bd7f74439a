"""The error the handlers raise; the server turns it into the real server's JSON body."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, message: str, *, extra: dict | None = None, body: dict | None = None
    ):
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.extra = extra or {}
        self._body = body

    def body(self) -> dict:
        if self._body is not None:
            return self._body
        return {"statusCode": self.status, "error": self.error, "messages": [self.message], **self.extra}


def bad_request(message: str, **extra) -> ApiError:
    return ApiError(400, "BadRequestException", message, extra=extra)


def internal_error(message: str) -> ApiError:
    """A database error the real server surfaces as a 500 (FK violation, out-of-range date, not-null)."""
    return ApiError(500, "InternalServerErrorException", message)


def not_found() -> ApiError:
    return ApiError(404, "NotFoundException", "Record not found")


DUPLICATE_MESSAGE = "A duplicate entry was detected"
