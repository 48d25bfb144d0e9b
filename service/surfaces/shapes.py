"""The base of every declared request and response shape (pydantic v2 models).

A shape is declared once and serves three readers: the OpenAPI generator
(`service.surfaces.openapi`), the tests that hold real responses to it, and the
surface that renders or checks it. Response shapes say what is always present;
request shapes refuse unknown fields, as the API does.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Shape(BaseModel):
    """A response body (or part of one)."""

    model_config = ConfigDict(protected_namespaces=(), populate_by_name=True)


class RequestShape(BaseModel):
    """A request body: an unknown field is refused."""

    model_config = ConfigDict(protected_namespaces=(), populate_by_name=True, extra="forbid")


def wire_names(shape: type[BaseModel]) -> set[str]:
    """The names a shape's fields have on the wire (their aliases where they have one)."""
    return {field.alias or name for name, field in shape.model_fields.items()}
