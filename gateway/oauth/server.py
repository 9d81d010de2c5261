"""``POST /oauth2/token``: the client-credentials grant, served by Authlib's authorization server.

On top of Authlib: a JSON body is accepted as well as a form (two shipped clients send one), every
error carries ``message`` beside RFC 6749's ``error``, and issuing a token enforces the account's
token cap in the same transaction that stores it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from functools import cached_property
from typing import ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError, grants
from flask import Blueprint, Flask, Response
from flask import request as flask_request

from gateway.oauth.accounts import AccountService
from gateway.oauth.models import AUTH_METHODS
from gateway.oauth.secrets import new_access_token

MESSAGES = {
    "invalid_client": "The client id or secret is wrong, or the API account is disabled.",
    "invalid_request": "The token request is malformed.",
    "unsupported_grant_type": "Only grant_type=client_credentials is supported.",
    "unauthorized_client": "This API account may not use this grant type.",
    "invalid_scope": "Scopes are not used by this API.",
}


class _JsonPayload(FlaskOAuth2Payload):
    """Form and query values, plus the members of a JSON object body."""

    def __init__(self, request, body: dict):
        super().__init__(request)
        self._body = body

    @cached_property
    def data(self):
        merged = dict(self._request.values.items())
        merged.update({k: v for k, v in self._body.items() if isinstance(v, str)})
        return merged

    @cached_property
    def datalist(self):
        return {k: [v] for k, v in self.data.items()}


def _check_basic_credentials(authorization: str) -> None:
    """Refuse Basic credentials that are not base64 of UTF-8 text as bad credentials (Authlib's decoder
    raises on them, which would be a 500)."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        return
    try:
        base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClientError() from None


class TokenRequest(FlaskOAuth2Request):
    def __init__(self, request):
        super().__init__(request)
        _check_basic_credentials(request.headers.get("Authorization", ""))
        if request.is_json and request.content_length:
            try:
                body = request.get_json(silent=True)
            except RecursionError:  # nested deeper than the JSON decoder goes
                body = None
            if not isinstance(body, dict):
                raise InvalidRequestError(
                    "The JSON body must be an object, for example {'grant_type': 'client_credentials'}."
                )
            self.payload = _JsonPayload(request, body)

    @property
    def form(self):
        """client_secret_post reads credentials here; a JSON body may carry them too."""
        return self.payload.data


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


class TokenServer(AuthorizationServer):
    def __init__(self, accounts: AccountService):
        super().__init__()
        self.accounts = accounts
        self._query_client = accounts.lookup_client
        self._save_token = lambda token, request: accounts.save_token(request.client, token["access_token"])
        self.register_grant(ClientCredentialsGrant)

    def create_oauth2_request(self, request):
        return TokenRequest(flask_request)

    def create_token_response(self, request=None):
        try:
            return super().create_token_response(request)
        except (
            InvalidRequestError,
            InvalidClientError,
        ) as error:  # raised while reading the request, before Authlib's
            # own handling
            return self.handle_error_response(None, error)

    def handle_response(self, status_code, payload, headers):
        if isinstance(payload, dict):
            if payload.get("error") == "invalid_client":
                status_code = 401  # bad client credentials, however they were sent
            if payload.get("error") == "invalid_client":
                # One answer whatever was wrong (unknown id, wrong secret, disabled account), so that the
                # endpoint does not tell which client ids exist.
                payload = {
                    "error": "invalid_client",
                    "message": MESSAGES["invalid_client"],
                    "error_description": MESSAGES["invalid_client"],
                }
            elif "error" in payload:
                message = payload.get("error_description") or MESSAGES.get(
                    payload["error"], "The token request failed."
                )
                payload = {"error": payload["error"], "message": message, **payload}
            else:
                payload = {
                    k: payload[k] for k in ("access_token", "token_type", "expires_in") if k in payload
                }
            payload = json.dumps(payload)
        headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        return Response(payload, status=status_code, headers=headers, mimetype="application/json")


def init_app(app: Flask, accounts: AccountService) -> TokenServer:
    if app.config["ALLOW_HTTP"]:
        # Authlib refuses plain http:// unless told otherwise; an emulator serves both.
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": app.config["TOKEN_LIFETIME"]}
    app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = lambda **_: new_access_token()
    server = TokenServer(accounts)
    server.init_app(app)
    blueprint = Blueprint("oauth", __name__)

    @blueprint.route("/oauth2/token", methods=["POST"])
    def issue_token():
        return server.create_token_response()

    app.register_blueprint(blueprint)
    return server
