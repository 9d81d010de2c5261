"""A registry with a history, for the inspection API's tests: every client type, connected and disconnected
records (some sharing an id), hostnames with LIKE wildcards and mixed case, two appliances, private IPs,
event logs of different lengths, all at known times (the gateway clock frozen at NOW)."""

from __future__ import annotations

from gateway.registry.model import Client, ClientType, Connection, Event, RepresentativeInfo
from gateway.registry.operations import AppendEvents, Connect, Disconnect
from tests import populations

NOW = 1_800_000_000
PRIMARY, TRAFFIC = populations.PRIMARY, populations.TRAFFIC
HOSTNAMES = [
    "DESKTOP-7F3KQ2A",
    "desktop-x1",
    "a%b",
    "a_b",
    "axb",
    "WS-JSMITH",
    "ws-akhan",
    "srv-db-01",
    "PC-00F3A1",
    "jp-dc1",
    "A\\B",
    "Desk",
]
NAMES = ["Zoe O'Brien", "zoe smith", "Priya Nair", "RDP: srv%01", "Jumpoint DC1", "50% off"]
USERNAMES = ["jsmith", "JSmith2", "akhan", "a_khan"]
PLATFORMS = [
    ("Windows 11 Pro (x64)", "winNT-64"),
    ("macOS 15 Sequoia (arm64)", "mac-arm64"),
    ("Debian GNU/Linux 12 (x86_64)", "linux-x86_64"),
    ("Windows 10 Pro (x86)", "winNT-32"),
]
INITIATORS = ["client", "server", "network"]
REASONS = ["Logged out", "Session ended", "timeout", ""]


def client(i: int, client_id: int) -> Client:
    ctype = list(ClientType)[i % 4]
    platform, platform_id = PLATFORMS[i % len(PLATFORMS)]
    since = NOW - 10_000 + i * 300
    connections = [
        Connection(PRIMARY if i % 3 else TRAFFIC, "primary", i % 2 == 0, since, f"10.0.{i % 5}.{i % 7}")
    ]
    if i % 4 == 1:
        connections.append(Connection(TRAFFIC, "traffic", True, since + 5, f"192.168.1.{i}"))
    out = Client(
        id=client_id,
        type=ctype,
        hostname=HOSTNAMES[i % len(HOSTNAMES)],
        platform=platform,
        platform_id=platform_id,
        timezone_offset=0,
        connected_since=since,
        connections=connections,
        events=[Event(since, "Connected to support.example.com as primary", "connect")],
    )
    if ctype is ClientType.REPRESENTATIVE:
        lsids = [f"{i:02d}{k:030d}" for k in range(i % 3)]
        out.rep = RepresentativeInfo(
            user_id=i + 1,
            username=USERNAMES[i // 4 % len(USERNAMES)],
            support_session_count=len(lsids),
            support_session_lsids=lsids,
        )
    else:
        out.name = NAMES[i % len(NAMES)]
    if ctype is ClientType.SUPPORT_CUSTOMER:
        out.lsid = f"lsid{i:04d}"
    return out


def build(svc, count: int = 30) -> None:
    """Appliances, then ``count`` connects; every third client gets more events, every fourth disconnects
    (reasons and initiators varied), and ids 1 and 2 connect again after their disconnect."""
    svc.controls.clock_control.set(NOW, frozen=True)
    svc.registry.replace_population(populations.appliances(), [])
    ops = []
    for i in range(count):
        ops.append(Connect(client(i, i + 1)))
    svc.registry.apply(ops)
    for i in range(0, count, 3):
        svc.registry.apply(
            [
                AppendEvents(
                    i + 1,
                    [
                        Event(NOW - 5000 + i * 10 + k, f"event {k} of {i}", kind)
                        for k, kind in enumerate(["info", "failure", "update"] * (1 + i % 4))
                    ],
                )
            ]
        )
    for i in range(0, count, 4):
        svc.registry.apply(
            [Disconnect(i + 1, REASONS[i // 4 % len(REASONS)], INITIATORS[i % 3], NOW - 4000 + i * 100)]
        )
    svc.registry.apply([Connect(client(40, 1)), Connect(client(41, 5))])
