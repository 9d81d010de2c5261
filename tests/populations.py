"""Small, explicit populations for tests whose output is compared byte for byte (golden files)."""

from __future__ import annotations

from gateway.registry.model import Appliance, Client, ClientType, Connection, Event, RepresentativeInfo

T0 = 1_790_000_000
PRIMARY = "6f1c2a9e-4b7d-4e1a-9c3f-2d5e8a7b1c00"
TRAFFIC = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
LSID_A = "3f2c9b7e1a6d4c8f9e0b1a2c3d4e5f60"
LSID_B = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def appliances() -> list[Appliance]:
    return [
        Appliance(
            id=PRIMARY,
            position=0,
            name="support",
            hostname="support.example.com",
            public_hostname="support.example.com",
            cluster_role="primary",
            failover_role="primary",
            version="24.3.1 (build 41298)",
            enabled_shared_ips=["203.0.113.10", "203.0.113.11"],
            last_data_sync_time=T0 - 600,
            last_data_sync_status="Success",
            pinned_clients=17,
        ),
        Appliance(
            id=TRAFFIC,
            position=1,
            name="traffic-eu",
            hostname="traffic-eu.example.com",
            public_hostname="traffic-eu.example.com",
            cluster_role="traffic",
            failover_role="none",
            timezone_offset=3600,
            version="24.3.1 (build 41298)",
        ),
    ]


def _two_connections(since: int, ip: str) -> list[Connection]:
    return [
        Connection(PRIMARY, "primary", False, since, ip),
        Connection(TRAFFIC, "traffic", True, since + 2, ip),
    ]


def clients() -> list[Client]:
    rep = Client(
        id=101,
        type=ClientType.REPRESENTATIVE,
        hostname="WS-JSMITH",
        platform="Windows 11 Enterprise (x64)",
        platform_id="winNT-64",
        timezone_offset=-18000,
        connected_since=T0 - 3600,
        rep=RepresentativeInfo(
            user_id=7,
            type="Normal",
            username="jsmith",
            public_display_name="Jo S.",
            private_display_name='Jo Smith <Tier 2> & "friends"',
            start_session_url="https://support.example.com/?ak=rep0007",
            presentation_count=1,
            support_session_count=2,
            showing_on_rep_list=True,
            routing_idle=False,
            routing_busy=True,
            routing_enabled=True,
            routing_available=False,
            support_license="Enterprise",
            support_session_lsids=[LSID_A, LSID_B],
        ),
        connections=_two_connections(T0 - 3600, "10.1.2.3"),
        events=[
            Event(T0 - 3600, "Connected to support.example.com as primary", "connect"),
            Event(
                T0 - 3599,
                "Failed to connect to traffic node traffic-us.example.com: connection timed out",
                "failure",
            ),
            Event(T0 - 3598, "Connected to traffic node traffic-eu.example.com", "connect"),
        ],
    )
    customer = Client(
        id=102,
        type=ClientType.SUPPORT_CUSTOMER,
        hostname="Zoes-MacBook-Pro",
        platform="macOS 15 Sequoia (arm64)",
        platform_id="mac-arm64",
        timezone_offset=3600,
        connected_since=T0 - 1200,
        name="Zoë O'Brien",
        lsid=LSID_A,
        non_interactive=None,
        connections=[Connection(PRIMARY, "primary", True, T0 - 1200, "192.168.7.20")],
        events=[Event(T0 - 1200, "Connected to support.example.com as primary", "connect")],
    )
    rdp_customer = Client(
        id=103,
        type=ClientType.SUPPORT_CUSTOMER,
        hostname="srv-db-01",
        platform="Windows Server 2022 (x64)",
        platform_id="winNT-64",
        timezone_offset=0,
        connected_since=T0 - 600,
        name="RDP: srv-db-01",
        lsid=LSID_B,
        non_interactive="rdp",
        connections=_two_connections(T0 - 600, "10.9.8.7"),
        events=[Event(T0 - 600, "Connected to support.example.com as primary", "connect")],
    )
    attendee = Client(
        id=104,
        type=ClientType.PRESENTATION_ATTENDEE,
        hostname="PC-00F3A1",
        platform="Windows 10 Pro (x86)",
        platform_id="winNT-32",
        timezone_offset=19800,
        connected_since=T0 - 300,
        name="Priya Nair",
        connections=[Connection(PRIMARY, "primary", True, T0 - 300, "172.16.4.4")],
        events=[Event(T0 - 300, "Connected to support.example.com as primary", "connect")],
    )
    jumpoint_events = [
        Event(
            T0 - 90_000 + i * 3600, f"Reconnect number {i} to traffic node traffic-eu.example.com", "connect"
        )
        for i in range(25)
    ]
    jumpoint = Client(
        id=105,
        type=ClientType.PUSH_AGENT,
        hostname="jp-dc1",
        platform="Debian GNU/Linux 12 (x86_64)",
        platform_id="linux-x86_64",
        timezone_offset=0,
        connected_since=T0 - 90_000,
        name="Jumpoint DC1 Servers",
        connections=_two_connections(T0 - 90_000, "10.0.0.5"),
        events=jumpoint_events,
    )
    return [rep, customer, rdp_customer, attendee, jumpoint]


def load(registry) -> list[Client]:
    return registry.replace_population(appliances(), clients())
