# Typed surface of flask-smorest 0.47 as riskengine uses it. flask-smorest ships no type hints
# (no py.typed); without these its decorators would make every view untyped under mypy --strict.
# Only what api/ calls is declared; a new call fails type checking until it is declared here.
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import flask
from apispec import APISpec
from werkzeug.exceptions import HTTPException

_F = TypeVar("_F", bound=Callable[..., Any])

class Blueprint(flask.Blueprint):
    def __init__(self, name: str, import_name: str, *args: Any, **kwargs: Any) -> None: ...
    def route(self, rule: str, *, parameters: Any = ..., tags: Any = ...,
              **options: Any) -> Callable[[_F], _F]: ...
    def arguments(self, schema: Any, *, location: str = ..., content_type: str | None = ...,
                  required: bool = ..., description: str | None = ..., example: Any = ...,
                  examples: Any = ..., as_kwargs: bool = ..., arg_name: str | None = ...,
                  **kwargs: Any) -> Callable[[_F], _F]: ...
    def response(self, status_code: int | str, schema: Any = ..., *,
                 content_type: str | None = ..., description: str | None = ...,
                 example: Any = ..., examples: Any = ..., headers: Any = ...) -> Callable[[_F], _F]: ...
    def alt_response(self, status_code: int | str, response: Any = ..., *, schema: Any = ...,
                     content_type: str | None = ..., description: str | None = ...,
                     example: Any = ..., examples: Any = ..., headers: Any = ...,
                     success: bool = ...) -> Callable[[_F], _F]: ...
    def doc(self, **kwargs: Any) -> Callable[[_F], _F]: ...

class Api:
    ERROR_SCHEMA: Any
    spec: APISpec
    def __init__(self, app: flask.Flask | None = ..., *, spec_kwargs: Mapping[str, Any] | None = ...) -> None: ...
    def init_app(self, app: flask.Flask, *, spec_kwargs: Mapping[str, Any] | None = ...) -> None: ...
    def register_blueprint(self, blp: Blueprint, *, parameters: Any = ..., **options: Any) -> None: ...
    def handle_http_exception(self, error: HTTPException) -> Any: ...
