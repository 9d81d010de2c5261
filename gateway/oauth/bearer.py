"""Who is calling: the bearer token (Authlib's resource protector) or, where an account allows it,
the legacy ``username`` + ``password`` parameters of pre-OAuth appliances."""

from __future__ import annotations

import flask
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import request
from werkzeug.datastructures import MultiDict

from gateway import faces
from gateway.errors import AuthenticationError
from gateway.oauth.accounts import MAX_TOKEN_LENGTH, AccountService
from gateway.oauth.models import AccessToken, Account


class _Validator(BearerTokenValidator):
    def __init__(self, accounts: AccountService):
        super().__init__(realm="api")
        self.accounts = accounts

    def authenticate_token(self, token_string: str) -> AccessToken | None:
        if len(token_string) > MAX_TOKEN_LENGTH:
            return None
        return self.accounts.find_token(token_string.strip())

    def validate_token(self, token: AccessToken | None, scopes, request):
        if token is None:
            raise AuthenticationError("The access token is not valid; request a new one at /oauth2/token.")
        if token.is_revoked():
            raise AuthenticationError(
                "The access token has been revoked; request a new one at /oauth2/token."
            )
        # The emulator's clock governs API tokens, not the operator's control channel (the admin surface).
        if (
            token.is_expired_for_operator()
            if faces.of_path(flask.request.path) is faces.ADMIN
            else token.is_expired()
        ):
            raise AuthenticationError("The access token has expired; request a new one at /oauth2/token.")


class _Headers:
    """The part of a request Authlib's bearer check reads."""

    __slots__ = ("headers",)

    def __init__(self, headers):
        self.headers = headers


class Authenticator:
    def __init__(self, accounts: AccountService):
        self.accounts = accounts
        self.protector = ResourceProtector()
        self.protector.register_token_validator(_Validator(accounts))

    def __call__(self, params: MultiDict, has_authorization: bool) -> Account:
        if not has_authorization and "username" in params and "password" in params:
            return self._legacy(params.get("username", ""), params.get("password", ""))
        # A valid bearer token is checked as Authlib's validator checks it (the same lookup, remembered per
        # worker until any account or token changes; revoked and expired refused) but without its request
        # machinery; any other header goes the whole way, which gives every refusal its own message.
        account = self.accounts.account_of_bearer(request.headers.get("Authorization", ""))
        if account is not None:
            return account
        try:
            # Authlib's resource protector reads only the headers; handing it just those spares building
            # the request's URL on every call (acquire_token does).
            token = self.protector.validate_request(scopes=None, request=_Headers(request.headers))
        except MissingAuthorizationError:
            raise AuthenticationError(
                'This API needs an access token: send "Authorization: Bearer TOKEN" '
                "(get one at /oauth2/token)."
            ) from None
        except OAuth2Error as error:  # unsupported token type, malformed header
            raise AuthenticationError(
                f"The Authorization header is not usable: {error.description or error.error}."
            ) from None
        return token.account

    def _legacy(self, username: str, password: str) -> Account:
        account = self.accounts.find(username) if 0 < len(username) <= 128 else None
        if (
            account is None
            or not account.check_client_secret(password)
            or not account.enabled
            or not account.legacy_login
        ):
            # One answer whatever failed, so the parameters reveal nothing about accounts.
            raise AuthenticationError("Invalid username or password for a legacy API login.")
        return account
