"""The OpenAPI 3.1 document of a service, built from its routes and the marshmallow schemas they use.

A view says what it does with `@documented(...)`: its JSON body schema, other body media types (CSV,
multipart, device text), its query parameters, the success status, the response media type and the
problems beyond the ones every route of its kind can answer. Authentication comes from `@require`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response, request
from marshmallow import Schema, fields
from werkzeug.exceptions import MethodNotAllowed

_PATH_ARG = re.compile(r"<([^:<>]+:)?([^<>]+)>")
JSON, PROBLEM_JSON = "application/json", "application/problem+json"
REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Malformed request",
           401: "Authentication required", 403: "Forbidden: the caller's role or the record's scope",
           404: "Not found", 409: "Conflict with the record's current state", 422: "Validation failed: the fields at fault"}
# What a non-JSON request body looks like, by media type.
BODY_SCHEMAS = {
    "text/csv": {"type": "string", "description": "the CSV text, UTF-8 or Windows-1252, a header row first"},
    "text/plain": {"type": "string"},
    "multipart/form-data": {"type": "object", "required": ["file"],
                            "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream"}}},
    "application/octet-stream": {"type": "string", "contentMediaType": "application/octet-stream"},
}
PROBLEM_SCHEMA = {
    "type": "object", "description": "RFC 9457 problem details", "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "description": "each field at fault", "items": {
            "type": "object", "properties": {"field": {"type": ["string", "null"]}, "message": {"type": "string"}}}},
    },
}


@dataclass(frozen=True)
class Operation:
    """What `@documented` records on a view."""

    request_schema: type[Schema] | dict | None = None
    response_schema: type[Schema] | None = None
    query: type[Schema] | dict | None = None
    body: tuple[str, ...] = ()
    status: int = 200
    produces: str = JSON
    problems: tuple[int, ...] = field(default_factory=tuple)
    refused: tuple[int, ...] = field(default_factory=tuple)


def documented(request_schema: type[Schema] | dict | None = None, response_schema: type[Schema] | None = None, *,
               query: type[Schema] | dict | None = None, body: str | tuple[str, ...] = (), status: int = 200,
               produces: str = JSON, problems: tuple[int, ...] = (), refused: tuple[int, ...] = ()):
    """Decorator saying what a view does, for the OpenAPI document.

    `request_schema`: the JSON body's schema (or `{name: field}`); `body`: other media types the body may have
    (`"text/csv"`, `"multipart/form-data"`, `"text/plain"`); `query`: a schema of the query parameters or
    `{name: marshmallow field or description}`; `status`: the success status; `produces`: the success
    media type; `problems`: statuses beyond those implied (401/403 when authenticated, 404 with path
    parameters, 400/422 with a body, 422 with query parameters); `refused`: statuses the view answers in
    its own `produces` media type instead (a device protocol's `ERROR:` lines), none implied then.
    """
    operation = Operation(request_schema, response_schema, query, (body,) if isinstance(body, str) else tuple(body),
                          status, produces, tuple(problems), tuple(refused))

    def wrap(view):
        view._documented = operation
        return view
    return wrap


def _schema(given, name: str) -> type[Schema] | None:
    """A schema class as given, or one made of `{name: marshmallow field or description of a string}`."""
    if given is None or isinstance(given, type):
        return given
    return Schema.from_dict({key: value if isinstance(value, fields.Field)
                             else fields.String(metadata={"description": value})
                             for key, value in given.items()}, name=name)


def _problem_statuses(doc: Operation, secured: bool, has_path: bool, has_body: bool) -> list[int]:
    statuses = set(doc.problems)
    if doc.refused:
        return sorted(statuses)
    if secured:
        statuses |= {401, 403}
    if has_path:
        statuses.add(404)
    if has_body:
        statuses |= {400, 422}
    if doc.query is not None:
        statuses.add(422)
    return sorted(statuses)


def _operation(view, endpoint: str, method: str, path_args: list[tuple[str, str]]) -> dict:
    doc: Operation = getattr(view, "_documented", None) or Operation()
    lines = (view.__doc__ or endpoint).strip().splitlines()
    operation: dict = {"summary": lines[0], "operationId": f"{endpoint}.{method.lower()}"}
    if len(lines) > 1:
        operation["description"] = "\n".join(line.strip() for line in lines[1:]).strip()
    roles = getattr(view, "_required_roles", None)
    if roles is not None:
        operation["security"] = [{"bearer": []}]
        if roles:
            operation["description"] = (operation.get("description", "") + f"\n\nRoles: {', '.join(roles)}.").strip()
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1} if converter == "int"
                   else {"type": "string"}}
                  for converter, name in path_args]
    camel = "".join(part.title() for part in re.split(r"[._]", endpoint))
    query = _schema(doc.query, f"{camel}Query")
    if query is not None:
        parameters.append({"in": "query", "schema": query})
    if parameters:
        operation["parameters"] = parameters
    content = {}
    request_schema = _schema(doc.request_schema, f"{camel}Body") if method in {"POST", "PUT", "PATCH"} else None
    if request_schema is not None:
        content[JSON] = {"schema": request_schema}
    for media in doc.body:
        content[media] = {"schema": BODY_SCHEMAS[media]}
    if content:
        optional = request_schema is not None and not doc.body and not any(
            f.required for f in request_schema().fields.values())  # e.g. an approval that may carry a hash
        operation["requestBody"] = {"required": not optional, "content": content}
    success: dict = {"description": REASONS.get(doc.status, "Success")}
    if doc.status != 204:
        if doc.response_schema is not None:
            success["content"] = {doc.produces: {"schema": doc.response_schema}}
        elif doc.produces == JSON:
            success["content"] = {JSON: {"schema": {"type": "object"}}}
        else:
            success["content"] = {doc.produces: {"schema": {"type": "string"}}}
    responses = {str(doc.status): success}
    for status in doc.refused:
        responses[str(status)] = {"description": REASONS.get(status, "Refused"),
                                  "content": {doc.produces: {"schema": {"type": "string"}}}}
    problem = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status in _problem_statuses(doc, roles is not None, bool(path_args), bool(content)):
        responses[str(status)] = {"description": REASONS.get(status, "Problem"), **problem}
    responses["default"] = {"description": "Any other problem (RFC 9457)", **problem}
    operation["responses"] = responses
    return operation


def build(app: Flask, title: str) -> dict:
    """The service's OpenAPI 3.1 document."""
    spec = APISpec(title=title, version="1.0.0", openapi_version="3.1.0", plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Problem", PROBLEM_SCHEMA)
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: str(r)):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        path = _PATH_ARG.sub(r"{\2}", str(rule))
        path_args = [(converter.rstrip(":"), name) for converter, name in _PATH_ARG.findall(str(rule))]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(view, rule.endpoint, method, path_args)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return _numbers(spec.to_dict())


def _numbers(node):
    """The document with Decimal bounds (a Range over money or percentages) as JSON numbers, not strings."""
    if isinstance(node, dict):
        return {key: _numbers(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_numbers(value) for value in node]
    if isinstance(node, Decimal):
        return int(node) if node == node.to_integral_value() else float(node)
    return node


def allow_header(response: Response) -> Response:
    """`after_request` hook: a 405 answer names the methods the resource does allow (RFC 9110 `Allow`)."""
    refused = request.routing_exception
    if response.status_code == 405 and isinstance(refused, MethodNotAllowed) and refused.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(refused.valid_methods))
    return response
