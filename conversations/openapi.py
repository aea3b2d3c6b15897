"""What the OpenAPI schema says of every endpoint of the JSON API alike.

Each endpoint under /api/v1/ answers 401 without credentials and 403 to a user
without the role it needs; one that names a row in its path answers 404 when
the row does not exist or the user may not see it. Rather than repeat that on
every view, this hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``) adds
those answers, with the API's error body, wherever a view did not describe them.
"""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "ApiError"
API_PREFIX = "/api/v1/"
METHODS = ("get", "put", "post", "patch", "delete")
COMMON_ERRORS = {
    "401": "No credentials, or credentials that are not valid (code `not_authenticated` "
    "or `authentication_failed`).",
    "403": "The user's role does not allow this (code `permission_denied`).",
}
NOT_FOUND = "No such row, or one the user may not see (code `not_found`)."


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
        },
    }


def add_common_errors(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Document 401, 403 and (for paths naming a row) 404 on every API operation."""
    if ERROR_COMPONENT not in result.get("components", {}).get("schemas", {}):
        return result
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        names_a_row = "{" in path
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in COMMON_ERRORS.items():
                responses.setdefault(status, _error(description))
            if names_a_row:
                responses.setdefault("404", _error(NOT_FOUND))
    return result
