"""API version profiles (GATEWAY_API_VERSION): answers follow the emulated version, by default the newest."""

from __future__ import annotations

import pytest

from gateway import create_app
from gateway.command import versions
from gateway.command.dispatch import ACTIONS
from gateway.config import ConfigError
from tests import populations
from tests.xmlutil import children, local, parse

REP_NAMES = ["display_name", "public_display_name", "private_display_name"]


@pytest.fixture
def api_version() -> str:
    return versions.NEWEST


@pytest.fixture
def app_config(database_url, api_version) -> dict:
    return {"DATABASE_URL": database_url, "TESTING": True, "API_VERSION": api_version, "COMPANY_NAME": "acme"}


@pytest.fixture
def population(svc):
    return populations.load(svc.registry)


def test_the_default_profile_is_the_newest_and_serves_every_action(database_url):
    app = create_app({"DATABASE_URL": database_url})
    assert app.config["API_VERSION"] == versions.NEWEST == "1.24.1"
    app.extensions["gateway"].store.close()
    assert all(versions.profile(versions.NEWEST).has_action(name) for name in ACTIONS)


def test_every_action_of_the_dispatch_table_has_its_versions():
    """The sessions helper's actions included: a new action gets its row in gateway/command/versions.py."""
    assert set(ACTIONS) <= set(versions.ACTIONS), set(ACTIONS) - set(versions.ACTIONS)
    for span in [*versions.ACTIONS.values(), *versions.ELEMENTS.values()]:
        assert span.since in versions.VERSIONS and span.until in (None, *versions.VERSIONS)
        assert span.source
    assert list(versions.VERSIONS) == sorted(versions.VERSIONS, key=versions.key)


def test_newest_api_info_has_no_company_name(command):
    root = parse(command("get_api_info").data)
    assert children(root) == ["api_version", "timestamp", "permissions"]


@pytest.mark.parametrize("api_version", ["1.23.1", "1.11.0"])
def test_before_1_24_1_api_info_names_the_company(command, api_version):
    root = parse(command("get_api_info").data)
    assert children(root) == ["api_version", "company_name", "timestamp", "permissions"]
    assert root.findtext("{*}api_version") == api_version and root.findtext("{*}company_name") == "acme"


@pytest.mark.parametrize(
    "api_version, names",
    [("1.24.1", REP_NAMES), ("1.10.0", REP_NAMES), ("1.9.0", ["display_name"]), ("1.5.0", ["display_name"])],
)
def test_display_name_is_deprecated_not_removed(command, population, api_version, names):
    """display_name stays with public_display_name's value; before 1.10.0 it is the only name."""
    rep = parse(command("get_logged_in_reps").data)[0]
    assert children(rep)[: len(names) + 1] == [*names, "type"]
    assert rep.findtext("{*}display_name") == "Jo S."


@pytest.mark.parametrize("api_version", ["1.5.0", "1.10.0"])
@pytest.mark.parametrize(
    "action", ["get_connected_clients", "get_connected_client_list", "check_health", "get_appliances"]
)
def test_an_action_newer_than_the_profile_answers_as_an_unknown_action(command, population, action):
    newer, unknown = command(action), command("no_such_action")
    assert newer.status_code == unknown.status_code == 200
    assert local(parse(newer.data)) == local(parse(unknown.data)) == "error"
    assert newer.data == unknown.data.replace(b"no_such_action", action.encode())


@pytest.mark.parametrize("api_version", ["1.5.0"])
def test_actions_of_the_profile_still_answer(command, population):
    assert local(parse(command("get_logged_in_reps").data)) == "logged_in_reps"
    assert local(parse(command("get_api_info").data)) == "api_information"


@pytest.mark.parametrize("value", ["2.0.0", "1.14.0", "latest", ""])
def test_an_unknown_api_version_is_refused_at_startup(database_url, value):
    with pytest.raises(ConfigError, match="GATEWAY_API_VERSION"):
        create_app({"DATABASE_URL": database_url, "API_VERSION": value})


def test_the_settings_are_read_as_text_from_the_environment(database_url, monkeypatch):
    """GATEWAY_API_VERSION=1.10.0 and a company name of digits stay text (the environment's JSON reading would
    make 007 the number 7)."""
    monkeypatch.setenv("GATEWAY_API_VERSION", "1.10.0")
    monkeypatch.setenv("GATEWAY_COMPANY_NAME", "007")
    monkeypatch.setenv("GATEWAY_XML_LAYOUT", "COMPACT")
    app = create_app({"DATABASE_URL": database_url})
    assert (app.config["API_VERSION"], app.config["COMPANY_NAME"], app.config["XML_LAYOUT"]) == (
        "1.10.0",
        "007",
        "compact",
    )
    app.extensions["gateway"].store.close()
