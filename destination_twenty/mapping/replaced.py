"""Fields Twenty replaces whole: a write of a LINKS or EMAILS field replaces every sub-field, so what is not sent is
wiped (recorded on a real server). LINKS lose whatever is not sent; EMAILS lose primaryEmail when only
additionalEmails is sent (additionalEmails survive a write of primaryEmail alone). The mapper warns of it and the
writer completes such writes from the stored record (write/composites.py)."""

from __future__ import annotations

from collections.abc import Collection

from destination_twenty.mapping.schema import COMPOSITE_SUBFIELDS

REPLACED_WHOLE = ("LINKS", "EMAILS")


def wiped(kind: str, sent: Collection[str]) -> list[str]:
    """The sub-fields of a field of type `kind` that a write of only the sub-fields `sent` wipes."""
    if kind == "LINKS":
        return [sub for sub in COMPOSITE_SUBFIELDS["LINKS"] if sub not in sent]
    if kind == "EMAILS" and "primaryEmail" not in sent:
        return ["primaryEmail"]
    return []


def is_partial(kind: str, value: Collection[str]) -> bool:
    """Would a write of `value` (a LINKS or EMAILS field's sub-fields) wipe stored sub-fields?"""
    return bool(wiped(kind, value))
