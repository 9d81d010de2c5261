"""The command actions: plain functions from loaded parameters to plain results (no Flask, no XML)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.clock import Clock
from gateway.command import versions
from gateway.oauth.models import Account
from gateway.registry.model import Appliance, ClientQuery
from gateway.registry.service import ClientList, Registry
from gateway.registry.session_service import Sessions
from gateway.xml.appliances import ApiInfo, RepList


@dataclass
class Context:
    registry: Registry
    clock: Clock
    account: Account
    config: dict
    #: Support sessions and teams (the session actions, gateway.command.session_handlers).
    sessions: Sessions | None = None


def profile(ctx: Context) -> versions.Profile:
    """The emulated API version's profile (GATEWAY_API_VERSION, checked when the app was built)."""
    return versions.profile(ctx.config["API_VERSION"])


def get_connected_clients(ctx: Context, query: ClientQuery) -> Iterable[bytes]:
    """The selected clients' cached elements, from one snapshot of the registry."""
    return ctx.registry.fragments(query)


def get_connected_client_list(ctx: Context, args: dict) -> ClientList:
    return ctx.registry.client_list(
        args["query"], summary_only=args["summary_only"], include_pinned=args["include_pinned"]
    )


def get_api_info(ctx: Context, _args) -> ApiInfo:
    company = ctx.config["COMPANY_NAME"] if profile(ctx).has_element("get_api_info", "company_name") else None
    return ApiInfo(ctx.config["API_VERSION"], ctx.clock.now_int(), ctx.account.permissions(), company)


def check_health(ctx: Context, _args) -> Appliance:
    appliance = ctx.registry.health_appliance(
        ctx.config["APPLIANCE_ID"],
        fallback_hostname=ctx.config.get("SERVER_NAME") or "localhost",
        version=ctx.config["PRODUCT_VERSION"],
    )
    # An appliance always runs some software: one fed or imported without a version reports the gateway's.
    if not appliance.version:
        appliance = dataclasses.replace(appliance, version=ctx.config["PRODUCT_VERSION"])
    return appliance


def get_logged_in_reps(ctx: Context, _args) -> RepList:
    version = profile(ctx)
    omitted = frozenset(
        name for name in RepList.ELEMENTS if not version.has_element("get_logged_in_reps", name)
    )
    return RepList(ctx.registry.logged_in_reps(), omitted)


def get_appliances(ctx: Context, _args) -> list[Appliance]:
    return ctx.registry.appliances()
