"""JSON Schema for the OpenAPI document, generated from the declared shapes (pydantic).

Pydantic's output is valid as it comes; a few passes make it read like a hand-written
document: no generated titles, nullable fields as `type: [T, "null"]`, nested shapes that
are not components inlined where they are used, and no `default: null` on optional fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

Schema = dict[str, Any]
REF = "#/components/schemas/"


def ref(shape: type[BaseModel]) -> Schema:
    """A reference to `shape`, one of the document's components."""
    return {"$ref": REF + shape.__name__}


class _Generator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def component_schemas(shapes: Iterable[type[BaseModel]]) -> dict[str, Schema]:
    """`components.schemas` for `shapes`: each by its class name; nested shapes inlined."""
    shapes = list(shapes)
    names = {shape.__name__ for shape in shapes}
    _, top = models_json_schema(
        [(shape, "validation") for shape in shapes],
        ref_template=REF + "{model}",
        schema_generator=_Generator,
    )
    defs: dict[str, Schema] = top.get("$defs", {})
    return {shape.__name__: _tidy(_inline(defs[shape.__name__], defs, names)) for shape in shapes}


def inline_schema(shape: type[BaseModel]) -> Schema:
    """The schema of `shape` written out in place (facades keep their shapes out of components)."""
    return component_schemas([shape])[shape.__name__]


def query_parameters(shape: type[BaseModel]) -> list[Schema]:
    """OpenAPI query parameters, one per field of `shape`."""
    schema = inline_schema(shape)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema["properties"].items():
        parameter = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            parameter["description"] = prop["description"]
        parameter["schema"] = {key: value for key, value in prop.items() if key != "description"}
        parameters.append(parameter)
    return parameters


def _inline(node: Any, defs: dict[str, Schema], keep: set[str]) -> Any:
    """`node` with references to shapes that are not components replaced by the shapes."""
    if isinstance(node, list):
        return [_inline(item, defs, keep) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.removeprefix(REF) not in keep:
        rest = {key: value for key, value in node.items() if key != "$ref"}
        return _inline({**defs[ref.removeprefix(REF)], **rest}, defs, keep)
    return {key: _inline(value, defs, keep) for key, value in node.items()}


def _tidy(node: Any) -> Any:
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _tidy(value) for key, value in node.items()}
    if isinstance(node.get("title"), str):
        del node["title"]
    if isinstance(node.get("description"), str):  # a docstring's line breaks are not text
        node["description"] = re.sub(r"(?<!\n)\n(?!\n)\s*", " ", node["description"])
    if "default" in node and node["default"] is None:
        del node["default"]
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("required", [])
    return _nullable(node)


def _nullable(node: Schema) -> Schema:
    """`anyOf: [T, null]` as `type: [T, "null"]` where T is a plain typed schema."""
    options = node.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return node
    (inner,) = [option for option in options if option != {"type": "null"}]
    if not isinstance(inner.get("type"), str) or "anyOf" in inner:
        return node
    merged = {**inner, **{key: value for key, value in node.items() if key != "anyOf"}}
    merged["type"] = [inner["type"], "null"]
    if "const" in merged:
        merged["enum"] = [merged.pop("const"), None]
    elif "enum" in merged:
        merged["enum"] = [*merged["enum"], None]
    return merged
