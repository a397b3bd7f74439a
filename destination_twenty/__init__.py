"""Airbyte destination for the Twenty CRM."""

from destination_twenty.destination import DestinationTwenty

__all__ = ["DestinationTwenty"]
