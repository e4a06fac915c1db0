"""The one rule for what a model reference names (the repository, a Bento's bundle and
serving's router all resolve references through :func:`resolve_reference`): a tag, a UUID, a
BentoML tag ``name:<uuid hex>`` (or a UUID spelt as hex), or a unique UUID prefix.

A prefix is at least :data:`MIN_PREFIX` characters of a UUID's spelling (hex digits and
dashes) and matches literally: ``%`` or ``_`` is never a wildcard. It names a model only when
exactly one UUID starts with it; an ambiguous prefix is refused, listing a few candidates.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Callable, Iterable

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


def uuid_spellings(ref: str) -> list[str]:
    """``ref`` and, when its last ``:`` part parses as a UUID (a BentoML tag's version, or a
    UUID spelt as hex), that UUID in its canonical form."""
    spellings = [ref]
    try:
        canonical = str(uuidlib.UUID(ref.split(":")[-1]))
    except ValueError:
        return spellings
    return spellings if canonical == ref else [*spellings, canonical]


def resolve_reference(ref: str, *, tag: Callable[[str], str | None], exists: Callable[[str], bool],
                      with_prefix: Callable[[str], Iterable[str]]) -> str | None:
    """The UUID ``ref`` names, or None: a tag first (``tag(ref)``: its UUID or None), then a UUID
    in any of :func:`uuid_spellings` (``exists``), then a unique UUID prefix (``with_prefix``:
    the UUIDs starting with the lower-cased prefix; :class:`AmbiguousPrefix` when several do)."""
    found = tag(ref)
    if found is not None:
        return found
    for candidate in uuid_spellings(ref):
        if exists(candidate):
            return candidate
    if is_uuid_prefix(ref):
        return pick_prefix(ref, with_prefix(ref.lower()))
    return None
