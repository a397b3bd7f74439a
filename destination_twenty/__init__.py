"""Airbyte destination for the Twenty CRM."""

__all__ = ["DestinationTwenty"]


def __getattr__(name: str):
    # Lazy, so that `destination-twenty spec` does not load the HTTP client and the writer.
    if name == "DestinationTwenty":
        from destination_twenty.airbyte.commands import DestinationTwenty

        return DestinationTwenty
    raise AttributeError(f"module 'destination_twenty' has no attribute {name!r}")
