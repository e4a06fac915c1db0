"""The one rule for a UUID prefix in a model reference (the repository, a Bento's bundle and
serving's router all resolve references through it).

A prefix is at least :data:`MIN_PREFIX` characters of a UUID's spelling (hex digits and
dashes) and matches literally: ``%`` or ``_`` is never a wildcard. It names a model only when
exactly one UUID starts with it; an ambiguous prefix is refused, listing a few candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MIN_PREFIX = 6
#: The most candidates an ambiguity error lists.
MAX_CANDIDATES = 5
_UUID_CHARS = re.compile(r"[0-9a-fA-F-]+")


class AmbiguousPrefix(LookupError):
    """More than one model's UUID starts with the prefix."""


def is_uuid_prefix(ref: str) -> bool:
    """Whether ``ref`` may be read as a UUID prefix (long enough, only hex digits and dashes)."""
    return len(ref) >= MIN_PREFIX and _UUID_CHARS.fullmatch(ref) is not None


def pick_prefix(ref: str, uuids: Iterable[str]) -> str | None:
    """The one UUID of ``uuids`` that starts with ``ref`` (literally), None when none does;
    :class:`AmbiguousPrefix` naming up to :data:`MAX_CANDIDATES` when several do."""
    if not is_uuid_prefix(ref):
        return None
    prefix = ref.lower()
    matches = sorted(u for u in uuids if u.startswith(prefix))
    if len(matches) > 1:
        shown = ", ".join(matches[:MAX_CANDIDATES]) + (", ..." if len(matches) > MAX_CANDIDATES else "")
        raise AmbiguousPrefix(f"{ref!r} is the start of {len(matches)} model UUIDs ({shown}); "
                              "give more of the UUID")
    return matches[0] if matches else None
