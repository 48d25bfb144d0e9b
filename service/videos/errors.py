"""What the application core refuses, and why — in no API's words and with no HTTP status.

A refusal names the field it is about by vidgate's canonical name (`seconds`, `image_url` …)
and says what is wrong in a message that is *composed*, not fixed: the message is a function
of how the field names are spelt, so each API surface tells it in its own words (`duration`,
`parameters.imageUrl` …) by passing its table of names. Surfaces map these errors to their
own status codes and error bodies, each in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Names = Callable[[str], str]
"""How a surface spells a canonical field name."""
Says = Callable[[Names], str]
"""A message, composed with a surface's spelling of the fields it mentions."""

FIRST_FRAME = "input_reference or image_url"
"""The first frame's fields as one phrase: a surface with a single image field names it."""


def canonical(name: str) -> str:
    """vidgate's own spelling: the name itself."""
    return name


class Refused(Exception):
    """A command the core refuses; nothing was written."""

    default_code = "refused"

    def __init__(
        self,
        says: str | Says,
        *,
        code: str | None = None,
        field: str | None = None,
        allowed: Sequence[str | int] = (),
    ) -> None:
        self.says: Says = says if callable(says) else _fixed(says)
        self.code = code or self.default_code
        self.field, self.allowed = field, tuple(allowed)
        super().__init__(self.told())

    def told(self, name: Names = canonical) -> str:
        """The message, with every field it mentions spelt by `name`."""
        return self.says(name)


class InvalidField(Refused):
    """A field whose value the core does not accept (`allowed` lists the values it would)."""

    default_code = "invalid_value"

    def __init__(
        self,
        field: str,
        says: str | Says,
        code: str | None = None,
        *,
        allowed: Sequence[str | int] = (),
    ) -> None:
        super().__init__(says, code=code, field=field, allowed=allowed)


class NotAuthenticated(Refused):
    """No valid credential came with the request."""

    default_code = "invalid_api_key"


class Forbidden(Refused):
    """The credential is valid but does not allow this."""

    default_code = "missing_scope"


class NotFound(Refused):
    """No such thing for this tenant (whether it exists for another is not said)."""

    default_code = "not_found"


class PaymentRequired(Refused):
    """The tenant's credits can't cover the price; `price` and `available` in dollars."""

    default_code = "insufficient_credits"

    def __init__(self, price: float, available: float) -> None:
        super().__init__(
            f"insufficient credits: this video costs ${price:.2f} and the balance "
            f"available is ${available:.2f}"
        )
        self.price, self.available = price, available


class RateLimited(Refused):
    """The key reached one of its limits (requests per minute, unfinished videos, monthly
    budget); `limit` is the limit, `reset` the seconds until trying again makes sense."""

    default_code = "rate_limited"

    def __init__(
        self, limit: int, reset: int, *, says: str | None = None, code: str | None = None
    ) -> None:
        per_minute = f"this API key is limited to {limit} requests per minute; retry in {reset} s"
        super().__init__(says or per_minute, code=code)
        self.limit, self.remaining, self.reset = limit, 0, reset


class Conflict(Refused):
    """The request is well-formed but disagrees with what was done before."""

    default_code = "conflict"


def _fixed(message: str) -> Says:
    return lambda _name: message
