"""The site configuration a population comes with, as an administrator would set it in /login: custom session
attributes (ticket_id among them) and support teams (their members drawn from the population's
representatives, their issues). Loaded with a fixture by gateway.seeding.fixtures.reset."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.registry.model import Client, ClientType
from gateway.registry.session_service import Sessions
from gateway.registry.sessions import (
    ChatMessage,
    CustomAttribute,
    Issue,
    SupportSession,
    SupportTeam,
    TeamMember,
)

ATTRIBUTES = (
    CustomAttribute("ticket_id", "Ticket ID"),
    CustomAttribute("asset_tag", "Asset Tag"),
    CustomAttribute("customer_tier", "Customer Tier"),
)

#: (id, name, code name, comments, issues)
TEAMS = (
    (
        1,
        "Service Desk",
        "service_desk",
        "First line: every new request",
        (("password_reset", "Password reset"), ("software", "Software installation")),
    ),
    (
        2,
        "Desktop Support",
        "desktop_support",
        "Workstations and peripherals",
        (("hardware", "Hardware problem"), ("printing", "Printing")),
    ),
    (
        3,
        "Network Operations",
        "network_ops",
        "VPN, Wi-Fi and remote access",
        (("vpn", "VPN connection"), ("wifi", "Wi-Fi")),
    ),
    (4, "Escalations", "escalations", "Second line and outages", (("outage", "Service outage"),)),
)


def teams_for(clients: Sequence[Client]) -> list[SupportTeam]:
    """The demo teams, each representative of the population a member of one (the first of each, its lead);
    a population without representatives still has the teams (a site's configuration), without members."""
    reps: dict[int, Client] = {}
    for client in clients:
        if client.type is ClientType.REPRESENTATIVE and client.rep is not None:
            reps.setdefault(client.rep.user_id, client)
    teams: list[SupportTeam] = []
    issue_id = 0
    for team_id, name, code_name, comments, issues in TEAMS:
        team_issues = []
        for issue_code, description in issues:
            issue_id += 1
            team_issues.append(Issue(issue_id, issue_code, description))
        teams.append(SupportTeam(team_id, name, code_name, comments, [], team_issues))
    for index, (user_id, client) in enumerate(sorted(reps.items())):
        team = teams[index % len(teams)]
        assert client.rep is not None
        role = "lead" if not team.members else "member"
        team.members.append(TeamMember(user_id, client.rep.public_display_name, role))
    return teams


def site_for(clients: Sequence[Client]) -> tuple[list[SupportTeam], list[CustomAttribute]]:
    return teams_for(clients), list(ATTRIBUTES)


#: How many of a population's sessions come with attributes and a chat (as a ticketing integration left them).
TICKETED = 5
TIERS = ("gold", "silver", "bronze")


def sessions_for(clients: Sequence[Client]) -> list[SupportSession]:
    """A few of the population's sessions (a customer and the representatives listing its lsid) as stored
    sessions: a ticket_id and a customer tier set, a system message and the representative's greeting."""
    holders: dict[str, list[Client]] = {}
    for client in clients:
        if client.type is ClientType.REPRESENTATIVE and client.rep is not None:
            for lsid in client.rep.support_session_lsids:
                holders.setdefault(lsid, []).append(client)
    out: list[SupportSession] = []
    for client in clients:
        if len(out) == TICKETED:
            break
        if client.type is not ClientType.SUPPORT_CUSTOMER or not client.lsid or client.lsid not in holders:
            continue
        reps = [r.rep for r in holders[client.lsid] if r.rep is not None]
        number = len(out)
        start = client.connected_since
        out.append(
            SupportSession(
                client.lsid,
                f"rep:{reps[0].user_id}",
                start,
                customer_id=client.id,
                customer_name=client.name or "",
                rep_ids=[r.user_id for r in reps],
                attributes={"ticket_id": f"INC-{1042 + number}", "customer_tier": TIERS[number % len(TIERS)]},
                chat=[
                    ChatMessage(
                        start + 5, "system", "System", f"{reps[0].public_display_name} joined the session"
                    ),
                    ChatMessage(
                        start + 9,
                        "representative",
                        reps[0].public_display_name,
                        "Hello, how can I help?",
                        reps[0].user_id,
                    ),
                ],
            )
        )
    return out


def install(sessions: Sessions, clients: Sequence[Client]) -> None:
    """Give a just-loaded population its site: the teams and custom attributes, and its ticketed sessions."""
    sessions.configure_site(*site_for(clients))
    sessions.seed(sessions_for(clients))
