"""Patterns (JSON Schema regexes, no flags) the declared shapes share, each one true to a parser."""

from __future__ import annotations

import re
from collections.abc import Iterable

from events.endpoint import EVENT_FILTERS

VIDEO_ID_PATTERN = r"^video_[0-9a-f]{32}$"
ENDPOINT_ID_PATTERN = r"^we_[0-9a-f]{32}$"
DELIVERY_ID_PATTERN = r"^dlv_[0-9a-f]{32}$"
MESSAGE_ID_PATTERN = r"^msg_[0-9a-f]{32}$"
SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/]{43}=$"  # base64 of 32 bytes
# A host of letters, digits, dots and dashes, a port that is not 0, a printable ASCII rest:
# narrower than what `webhook_url` takes, so every URL the schema allows is one it accepts.
HTTP_URL_PATTERN = (
    r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9][A-Za-z0-9.-]*(:[1-9][0-9]{0,3})?([/?#][!-~]*)?\s*$"
)
INT_STRING_PATTERN = r"^\s*-?\d{1,12}\s*$"  # what `shape.as_int` accepts from a string
SIZE_PATTERN = r"^\d+x\d+$"
NOT_BLANK = r"\S"


def comma_list_pattern(
    names: Iterable[str], *, any_case: bool = False, empty_items: bool = False
) -> str:
    """A pattern for one or more of `names`, comma-separated ("completed, failed").

    With `empty_items`, blank items (and so a blank value) are allowed, as query
    parameters that ignore them take them.
    """
    words = [_any_case(name) if any_case else name for name in names]
    one = f"({'|'.join(words)})" + ("?" if empty_items else "")
    return rf"^\s*{one}\s*(,\s*{one}\s*)*$"


def _any_case(word: str) -> str:
    """`word` in any letter case, as a pattern (JSON Schema regexes take no flags)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


EVENT_LIST_PATTERN = comma_list_pattern(EVENT_FILTERS)
