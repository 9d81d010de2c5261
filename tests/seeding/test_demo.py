"""The demo population is realistic: hostnames fit the platform, time-zone offsets fit the place (daylight
saving time included), and the same seed gives the same population."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.registry.model import ClientType
from gateway.seeding import demo
from tests.conftest import FIXED_NOW

#: What each platform family names a machine (the representatives' managed Windows workstations: WS-USER).
HOSTNAMES = {
    "winNT": r"(DESKTOP|LAPTOP)-[0-9A-F]{7}|WS-[A-Z0-9]{1,10}|jp-[a-z0-9-]+",
    "mac": r"[A-Za-z]+s-(MacBook-Pro|MacBook-Air|iMac|Mac-mini)",
    "ios": r"[A-Za-z]+s-(iPhone|iPad)",
    "android": r"Galaxy-\w+|Pixel-\w+|moto-[a-z-]+",
    "linux": r"[a-z]+-(thinkpad|xps|desktop)|jp-[a-z0-9-]+",
}
SUMMER, WINTER = 1_790_000_000, 1_800_000_000  # 2026-09-21 and 2027-01-15


def family(platform_id: str) -> str:
    return next(name for name in HOSTNAMES if platform_id.startswith(name))


@pytest.mark.parametrize("now", [SUMMER, WINTER])
def test_hostnames_fit_the_platform(now):
    _appliances, clients = demo.build(now)
    for client in clients:
        assert re.fullmatch(HOSTNAMES[family(client.platform_id)], client.hostname), (
            client.platform_id,
            client.hostname,
        )
    windows = [c.hostname for c in clients if c.platform_id.startswith("winNT")]
    assert not [h for h in windows if "MacBook" in h] and not [
        c.hostname for c in clients if c.platform_id == "ios" and c.hostname.startswith("DESKTOP-")
    ]


@pytest.mark.parametrize("now, london", [(SUMMER, 3600), (WINTER, 0)])
def test_jumpoint_offsets_fit_their_site(now, london):
    _appliances, clients = demo.build(now)
    jumpoints = {c.name: c for c in clients if c.type is ClientType.PUSH_AGENT}
    zones = dict(demo.SITES)
    for name, client in jumpoints.items():
        zone = zoneinfo.ZoneInfo(zones[name.removeprefix("Jumpoint ")])
        expected = datetime.fromtimestamp(client.connected_since, zone).utcoffset()
        assert client.timezone_offset == expected.total_seconds(), name
    # connected 2 to 30 days before "now": the London one may predate the clock change of late October
    assert jumpoints["Jumpoint London Office"].timezone_offset in (0, 3600)
    assert jumpoints["Jumpoint Tokyo Office"].timezone_offset == 32400
    assert jumpoints["Jumpoint DMZ"].timezone_offset == 0


def test_every_client_offset_is_a_real_zone_at_its_connection_time():
    _appliances, clients = demo.build(FIXED_NOW)
    possible = {demo.utc_offset(zone, FIXED_NOW - 30 * 86400) for zone in demo.ZONES} | {
        demo.utc_offset(zone, FIXED_NOW) for zone in demo.ZONES
    }
    assert {c.timezone_offset for c in clients} <= possible
    reps = [c for c in clients if c.type is ClientType.REPRESENTATIVE]
    centres = {demo.utc_offset(zone, c.connected_since) for zone in demo.SUPPORT_CENTRES for c in reps}
    assert {c.timezone_offset for c in reps} <= centres


@given(ts=st.integers(1_600_000_000, 2_000_000_000), zone=st.sampled_from(sorted(demo.ZONES)))
def test_utc_offset_agrees_with_the_tz_database(ts, zone):
    expected = datetime.fromtimestamp(ts, zoneinfo.ZoneInfo(zone)).utcoffset().total_seconds()
    assert demo.utc_offset(zone, ts) == expected


def _truth(zone: zoneinfo.ZoneInfo, ts: int) -> float:
    return datetime.fromtimestamp(ts, zone).utcoffset().total_seconds()


@pytest.mark.parametrize("name", ["Europe/London", "America/New_York", "America/Los_Angeles"])
@pytest.mark.parametrize("year", [2026, 2027, 2030])
def test_utc_offset_switches_on_the_second_the_tz_database_does(name, year):
    """Hour by hour through a year (the switches fall on whole UTC hours), and the second before each."""
    zone, start = zoneinfo.ZoneInfo(name), int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    switches = 0
    for ts in range(start, start + 365 * 86400, 3600):
        assert demo.utc_offset(name, ts) == _truth(zone, ts), ts
        if _truth(zone, ts - 1) != _truth(zone, ts):
            switches += 1
            assert demo.utc_offset(name, ts - 1) == _truth(zone, ts - 1), ts - 1
    assert switches == 2


def test_the_same_seed_gives_the_same_population():
    assert demo.build(FIXED_NOW) == demo.build(FIXED_NOW)
    assert demo.build(FIXED_NOW, seed=7) != demo.build(FIXED_NOW)


def test_device_names_drop_accents():
    assert demo.ascii_name("Zoë") == "Zoe" and demo.ascii_name("Tomás") == "Tomas"


def test_the_simulator_names_and_places_its_clients_as_the_demo_does():
    from itertools import islice

    from gateway.seeding.simulator import Simulator

    clients = [
        op["client"]
        for step in islice(Simulator(3, SUMMER, 5).steps(), 400)
        for op in step.operations
        if op["op"] == "connect"
    ]
    assert len(clients) > 50
    for client in clients:
        assert re.fullmatch(HOSTNAMES[family(client["platform_id"])], client["hostname"]), client
    offsets = {demo.utc_offset(zone, SUMMER + 3600) for zone in demo.ZONES}
    assert {client["timezone_offset"] for client in clients} <= offsets
