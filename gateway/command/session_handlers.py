"""The session and team actions: plain functions from loaded parameters to plain results (no Flask, no XML).
The rules live in gateway.registry.session_service; what each action answers is in docs/command-actions.md."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.command.handlers import Context
from gateway.registry.failover import set_failover_role as apply_failover_role
from gateway.registry.session_service import IssuedKey, Sessions, VirtualCustomer
from gateway.registry.sessions import CustomAttribute, SupportTeam


@dataclass
class Success:
    """A ``<success>`` answer: the message the vendor documents for the action."""

    message: str


@dataclass
class Teams:
    teams: list[SupportTeam]
    show_members: bool


def _sessions(ctx: Context) -> Sessions:
    assert ctx.sessions is not None  # the command view always passes them
    return ctx.sessions


def _site(ctx: Context) -> str:
    return ctx.registry.health_appliance(
        ctx.config["APPLIANCE_ID"], fallback_hostname=ctx.config.get("SERVER_NAME") or "localhost"
    ).public_hostname


def get_support_teams(ctx: Context, args) -> Teams:
    return Teams(_sessions(ctx).teams(), args["showmembers"])


def generate_session_key(ctx: Context, args) -> IssuedKey:
    return _sessions(ctx).generate_key(
        args["queue_id"], ttl=args["ttl"], attributes=dict(args["custom"]), site=_site(ctx)
    )


def join_session(ctx: Context, args) -> Success:
    _sessions(ctx).join(args["lsid"], args["rep"])
    return Success("Representative successfully added")


def leave_session(ctx: Context, args) -> Success:
    return Success(_sessions(ctx).leave(args["lsid"], args["rep"], args["customer"]))


def transfer_session(ctx: Context, args) -> Success:
    _sessions(ctx).transfer(args["lsid"], args["queue_id"])
    return Success("Successfully transferred")


def set_session_attributes(ctx: Context, args) -> Success:
    _sessions(ctx).set_attributes(args["lsid"], dict(args["custom"]))
    return Success("Session attributes were set")


def get_session_attributes(ctx: Context, args) -> list[tuple[CustomAttribute, str]]:
    return _sessions(ctx).attributes(args["lsid"])


def terminate_session(ctx: Context, args) -> Success:
    _sessions(ctx).terminate(args["lsid"])
    return Success("Successfully terminated")


def send_chat_message(ctx: Context, args) -> Success:
    _sessions(ctx).send_chat(args["lsid"], args["message"], args["sender"])
    return Success("Chat message sent")


def create_virtual_customer(ctx: Context, args) -> VirtualCustomer:
    appliance = ctx.registry.health_appliance(
        ctx.config["APPLIANCE_ID"], fallback_hostname=ctx.config.get("SERVER_NAME") or "localhost"
    )
    created = _sessions(ctx).create_virtual_customer(
        args["short_key"],
        name=args["name"],
        ip_address=args["ip_address"],
        operating_system=args["operating_system"],
        computer_name=args["computer_name"],
        appliance_id=appliance.id,
        site=appliance.public_hostname,
    )
    if args["chat_url"]:
        created.download_url += "&c2c=1"
    return created


def set_failover_role(ctx: Context, args) -> Success:
    this = ctx.registry.health_appliance(
        ctx.config["APPLIANCE_ID"],
        fallback_hostname=ctx.config.get("SERVER_NAME") or "localhost",
        version=ctx.config["PRODUCT_VERSION"],
    )
    message = apply_failover_role(
        ctx.registry,
        this,
        args["role"],
        data_sync_first=args["data_sync_first"],
        force=args["force"],
        now=ctx.clock.now_int(),
    )
    return Success(message)
