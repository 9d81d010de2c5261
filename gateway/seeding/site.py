"""The site configuration a population comes with, as an administrator would set it in /login: custom session
attributes (ticket_id among them) and support teams (their members drawn from the population's
representatives, their issues). Loaded with a fixture by gateway.seeding.fixtures.reset."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.registry.model import Client, ClientType
from gateway.registry.sessions import CustomAttribute, Issue, SupportTeam, TeamMember

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
