"""The dashboard in headless Chromium against a real gunicorn gateway, on SQLite and on PostgreSQL:
sign-in (the token only in memory), filters, order and pages checked against the JSON API, the detail
panel, connects and disconnects written through the feed API appearing live, hostile stored strings
rendered as text, expiry signing the page out, and the page's own event-stream parser.

Screenshots: test-artifacts/ui-dashboard-<engine>.png (the live test) and test-artifacts/ui/<test>.png
(every test's last view). Needs Debian's chromium and chromium-driver (see tests/browser.py)."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
import requests

from gateway.clock import Clock, iso8601
from gateway.oauth.accounts import AccountService
from gateway.registry.model import Appliance, Client, ClientType, Connection, Event
from gateway.registry.service import Registry
from gateway.storage import open_store
from gateway.xml.clients import render_client
from tests import browser, populations
from tests.server import prepare, start

# One xdist worker runs the whole module: its gateways and its Chromium are module fixtures, built once.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]

HOSTILE_APPLIANCE = "d00dfeed-0bad-4bad-8bad-c0ffee000001"
HOSTILE_APPLIANCE_NAME = "<img src=x onerror=alert(4)> \"Lab\" & 'Co'"
HOSTILE = {
    "name": "<script>alert(1)</script>",
    "hostname": '"><img src=x onerror=alert(2)>',
    "platform": "Zoë \"quoted\" 'single' & <b>bold</b> ]]> \u202eexe.txt 😀\ttab",
    "event": '<svg onload=alert(3)></svg> & "done"',
}
BULK = 12  # support customers besides the small population, so that pages of 10 page
#: Seconds any wait in the page may take. Waits end as soon as their condition holds; the bound is only
#: how long a loaded machine may take (two workers, a browser and a gateway on two cores), not a pace.
WAIT = 90


def bulk_customers() -> list[Client]:
    t0 = populations.T0
    return [
        Client(
            id=200 + i,
            type=ClientType.SUPPORT_CUSTOMER,
            hostname=f"bulk-{i:02d}",
            platform="Windows 11 Pro (x64)",
            platform_id="winNT-64",
            timezone_offset=0,
            connected_since=t0 - 7 * i,
            name=f"Bulk customer {i:02d}",
            lsid=f"{i:032x}",
            connections=[
                Connection(
                    populations.TRAFFIC if i % 3 == 0 else populations.PRIMARY,
                    "primary",
                    False,
                    t0 - 7 * i,
                    f"10.20.0.{i}",
                )
            ],
            events=[Event(t0 - 7 * i, "Connected", "connect")],
        )
        for i in range(1, BULK + 1)
    ]


def hostile_appliance() -> Appliance:
    return Appliance(
        id=HOSTILE_APPLIANCE,
        position=2,
        name=HOSTILE_APPLIANCE_NAME,
        hostname="lab.example.com",
        public_hostname="lab.example.com",
        cluster_role="primary",
        failover_role="none",
        version="24.3.1",
    )


# --- the gateway and the browser --------------------------------------------------------------------
@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('ui') / 'gateway.db'}", "sqlite"
        return
    server = request.getfixturevalue("postgres_server")
    name = server.create_migrated("ui")
    yield server.url(name), "postgresql"
    server.drop(name)


class Gateway:
    def __init__(self, url: str, database_url: str, engine: str, accounts: dict):
        self.url = url
        self.database_url = database_url
        self.engine = engine
        self.accounts = accounts
        self.store = open_store(database_url)
        self.registry = Registry(self.store, Clock(), render_client)

    def token(self, name: str) -> dict:
        creds = self.accounts[name]
        response = requests.post(
            f"{self.url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.account.client_id, creds.client_secret),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def api(self, path: str, **params) -> dict:
        response = requests.get(f"{self.url}{path}", params=params, headers=self.token("reader"), timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def feed(self, method: str, path: str, body) -> requests.Response:
        return requests.request(
            method, f"{self.url}{path}", json=body, headers=self.token("feeder"), timeout=30
        )

    def reset(self) -> None:
        self.registry.replace_population(
            [*populations.appliances(), hostile_appliance()], [*populations.clients(), *bulk_customers()]
        )


@pytest.fixture(scope="module")
def gateway(engine_url, tmp_path_factory):
    database_url, engine = engine_url
    reader = prepare(database_url, "reader")
    store = open_store(database_url)
    try:
        service = AccountService(store, Clock())
        accounts = {
            "reader": reader,
            "feeder": service.create("feeder", "deny", feed=True),
            "denied": service.create("denied", "deny"),
            "admin": service.create("admin", "deny", admin=True),
            "operator": service.create("operator", "read_only", admin=True),
        }
    finally:
        store.close()
    # Streams end every few seconds here, so the tests also cover reconnecting with Last-Event-ID.
    node = start(
        {
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_REQUEST_LOG": "false",
            "GATEWAY_STREAM_MAX_SECONDS": "4",
            "GATEWAY_STREAM_HEARTBEAT_SECONDS": "1",
            "GATEWAY_STREAM_RETRY_MS": "300",
        },
        tmp_path_factory.mktemp("ui-log") / "gunicorn.log",
        workers=2,
    )
    gw = Gateway(node.url, database_url, engine, accounts)
    yield gw
    gw.store.close()
    node.stop()


@pytest.fixture(scope="module")
def driver():
    handle, profile = browser.launch()
    yield handle
    browser.quit(handle, profile)


class Page:
    """The dashboard in the browser, read through the DOM (textContent: what a person sees as text)."""

    def __init__(self, driver, gateway: Gateway):
        self.driver = driver
        self.gateway = gateway

    def wait(self, predicate, timeout: float = WAIT, message: str = ""):
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        # Live updates re-render rows: an element read between two renders is stale, so read again.
        return WebDriverWait(
            self.driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
        ).until(lambda _: predicate(), message)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def el(self, element_id: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def open(self, query: str = "") -> None:
        self.driver.get(f"{self.gateway.url}/ui/{query}")
        self.wait(
            lambda: self.js("return !document.getElementById('sign-in-fields').disabled"),
            message="the page's script did not start",
        )

    def sign_in(self, name: str = "reader", secret: str | None = None) -> None:
        creds = self.gateway.accounts[name]
        self.el("client-id").clear()
        self.el("client-id").send_keys(creds.account.client_id)
        self.el("client-secret").send_keys(creds.client_secret if secret is None else secret)
        self.el("sign-in-button").click()

    def signed_in(self, name: str = "reader") -> None:
        """Sign in and wait until the first load is drawn: the table, the chart and the live stream (the
        table and the chart load in parallel, so rows on screen do not mean the chart is there)."""
        self.sign_in(name)
        self.wait(lambda: self.visible("dashboard") and self.rows(), message="no table after signing in")
        self.wait(
            lambda: self.js("return !!document.querySelector('#chart g.appliance, #chart-empty')"),
            message="no chart after signing in",
        )
        self.wait(lambda: self.live() == "open", message="the live stream did not open")

    def visible(self, element_id: str) -> bool:
        return self.js("const e = document.getElementById(arguments[0]); return !!e && !e.hidden", element_id)

    def live(self) -> str:
        return self.el("live").get_attribute("data-state")

    def rows(self) -> list[dict]:
        return self.js("""return Array.from(document.querySelectorAll('#clients-body tr[data-id]'), tr => ({
            id: Number(tr.dataset.id), type: tr.dataset.type, fresh: tr.classList.contains('fresh'),
            cells: Array.from(tr.cells, c => c.textContent)}))""")

    def ids(self) -> list[int]:
        return [row["id"] for row in self.rows()]

    def feed_items(self) -> list[dict]:
        return self.js("""return Array.from(document.querySelectorAll('#feed li'), li => ({
            kind: li.dataset.kind, seq: li.dataset.seq, id: li.dataset.clientId, text: li.textContent}))""")

    def set_filter(self, name: str, value) -> None:
        """Set one filter control as a person would (checkboxes by value, selects by value, text typed)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import Select

        form = self.el("filters")
        if name == "type":
            for box in form.find_elements(By.CSS_SELECTOR, "input[name=type]"):
                if (box.get_attribute("value") in value) != box.is_selected():
                    box.click()
            return
        control = form.find_element(By.NAME, name)
        if control.tag_name == "select":
            Select(control).select_by_value(str(value))
        else:  # as typed: select all, delete, type
            control.send_keys(Keys.CONTROL, "a")
            control.send_keys(Keys.DELETE)
            if value:
                control.send_keys(value)

    def wait_for_ids(self, expected: list[int], message: str = "") -> None:
        from selenium.common.exceptions import TimeoutException

        try:
            self.wait(lambda: self.ids() == expected)
        except TimeoutException:
            raise AssertionError(f"table shows {self.ids()}, expected {expected} {message}") from None

    def click(self, selector: str) -> None:
        """Click what ``selector`` finds once it is displayed; a live re-render between finding and clicking
        makes the element stale, so find it again."""
        from selenium.webdriver.common.by import By

        def click() -> bool:
            element = self.driver.find_element(By.CSS_SELECTOR, selector)
            if not element.is_displayed():
                return False
            element.click()
            return True

        self.wait(click, message=f"nothing displayed to click at {selector}")

    def set_form(self, form_id: str, **values) -> None:
        """Set controls of a form by name, as typed or chosen (an input event follows each)."""
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import Select

        form = self.el(form_id)
        for name, value in values.items():
            control = form.find_element("name", name)
            if control.tag_name == "select":
                Select(control).select_by_value(str(value))
            else:
                control.send_keys(Keys.CONTROL, "a")
                control.send_keys(Keys.DELETE)
                control.send_keys(str(value))

    def click_row(self, client_id: int) -> None:
        self.click(f"#clients-body tr[data-id='{client_id}'] button")

    def texts(self, selector: str) -> list[str]:
        return self.js(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)", selector
        )

    def chart_count(self, appliance: str, client_type: str) -> int:
        return self.js(
            'const r = document.querySelector(`#chart g[data-appliance="${arguments[0]}"] '
            "rect[data-type=${arguments[1]}]`); return r ? Number(r.dataset.count) : 0",
            appliance,
            client_type,
        )

    def log_rows(self) -> list[list[str]]:
        return self.js(
            "return Array.from(document.querySelectorAll('#event-log tbody tr[data-seq]'), "
            "tr => Array.from(tr.cells, c => c.textContent))"
        )


@pytest.fixture
def page(driver, gateway, request):
    gateway.reset()
    driver.get_log("browser")  # drop what earlier tests left
    view = Page(driver, gateway)
    view.open()
    yield view
    browser.screenshot(driver, f"ui/{request.node.name}")
    assert browser.broken_rules(driver) == [], "the page broke its CSP, Trusted Types or threw"
    driver.get("about:blank")


def api_ids(gateway: Gateway, **params) -> list[int]:
    return [item["id"] for item in gateway.api("/api/v1/clients", **params)["items"]]


# --- the tests -------------------------------------------------------------------------------------------
def test_signing_in_shows_connected_clients_and_keeps_the_token_in_memory_only(page, gateway):
    assert page.visible("sign-in") and not page.visible("dashboard")
    page.signed_in()
    assert (
        page.ids()
        == api_ids(gateway, status="connected")
        == [101, 102, 103, 104, 105, *range(201, 201 + BULK)]
    )
    assert page.el("page-info").text == f"1–{5 + BULK} of {5 + BULK} · page 1 of 1"
    assert page.el("account").text == "reader"  # the account's name, its client id in the tooltip
    assert gateway.accounts["reader"].account.client_id in page.el("account").get_attribute("title")
    assert not page.visible("view-emulator")  # no admin permission
    by_id = {row["id"]: row["cells"] for row in page.rows()}
    assert by_id[101][1:5] == ["Representative", "jsmith (Jo S.)", "WS-JSMITH", "Windows 11 Enterprise (x64)"]
    assert by_id[102][2] == "Zoë O'Brien" and by_id[102][8] == "connected"
    # Nothing of the session is stored: no storage, no cookie, the secret not even in the form; every
    # request went to the gateway itself, and none carried a token in its URL.
    stored = page.js("""return {local: localStorage.length, session: sessionStorage.length,
        cookie: document.cookie, secret: document.getElementById('client-secret').value,
        urls: performance.getEntriesByType('resource').map(e => e.name)}""")
    assert (stored["local"], stored["session"], stored["cookie"], stored["secret"]) == (0, 0, "", "")
    assert stored["urls"] and all(u.startswith(gateway.url + "/") for u in stored["urls"])
    assert not [u for u in stored["urls"] if re.search(r"token|secret|bearer", urlsplit(u).query, re.I)]
    assert gateway.accounts["reader"].client_secret not in page.driver.page_source
    # The chart: the summary's counts per appliance, drawn as SVG.
    bars = page.js("""return Array.from(document.querySelectorAll('#chart g.appliance'), g => ({
        appliance: g.dataset.appliance, label: g.querySelector('text.label title').textContent,
        counts: Object.fromEntries(Array.from(g.querySelectorAll('rect'),
                                              r => [r.dataset.type, Number(r.dataset.count)]))}))""")
    support = next(b for b in bars if b["appliance"] == populations.PRIMARY)
    assert support["counts"] == {
        "representative": 1,
        "support_customer": 2 + 8,
        "presentation_attendee": 1,
        "push_agent": 1,
        "pinned_client": 17,
    }
    assert support["label"].startswith("support (support.example.com)")
    traffic = next(b for b in bars if b["appliance"] == populations.TRAFFIC)
    assert traffic["counts"] == {"support_customer": 4}
    # Reloading forgets the token: the page asks to sign in again.
    page.open()
    assert page.visible("sign-in") and not page.visible("dashboard")


def test_a_wrong_secret_shows_the_gateways_error(page):
    page.sign_in(secret="not-the-secret")
    page.wait(lambda: page.visible("sign-in-error"))
    assert (
        page.el("sign-in-error").text == "The client id or secret is wrong, or the API account is disabled."
    )
    assert not page.visible("dashboard") and page.el("client-secret").get_attribute("value") == ""


def test_an_account_without_read_permission_is_told_so(page):
    page.sign_in("denied")
    page.wait(lambda: page.visible("sign-in-error"))
    assert page.el("sign-in-error").text.startswith("This API account cannot read the registry:")
    assert "lacks the read permission" in page.el("sign-in-error").text
    assert not page.visible("dashboard")


def test_filters_order_and_pages_show_what_the_json_api_answers(page, gateway):
    page.signed_in()
    page.set_filter("type", ["support_customer"])
    page.wait_for_ids(api_ids(gateway, status="connected", type="support_customer"))
    assert {row["type"] for row in page.rows()} == {"support_customer"} and len(page.rows()) == 2 + BULK
    page.set_filter("type", ["representative", "presentation_attendee"])
    page.wait_for_ids([101, 104])
    page.set_filter("type", [])
    page.set_filter("hostname", "zoes-mac")  # a case-insensitive prefix
    page.wait_for_ids([102])
    page.set_filter("hostname", "bulk-1")
    page.wait_for_ids([210, 211, 212])
    page.set_filter("hostname", "")
    page.set_filter("name", "jumpoint")
    page.wait_for_ids([105])
    page.set_filter("name", "")
    page.set_filter("username", "js")
    page.wait_for_ids([101])
    page.set_filter("username", "")
    page.set_filter("appliance", populations.TRAFFIC)
    page.wait_for_ids(api_ids(gateway, status="connected", appliance=populations.TRAFFIC))
    page.set_filter("appliance", "")
    page.set_filter("order_by", "connected_since")
    page.set_filter("order", "desc")
    expected = api_ids(gateway, status="connected", order_by="connected_since", order="desc")
    page.wait_for_ids(expected)
    assert expected[0] == 201 and expected[-1] == 105  # newest first
    page.set_filter("page_size", "10")
    page.wait_for_ids(expected[:10])
    assert page.el("page-info").text == f"1–10 of {5 + BULK} · page 1 of 2"
    assert not page.el("prev-page").is_enabled()
    page.el("next-page").click()
    page.wait_for_ids(expected[10:])
    assert page.el("page-info").text == f"11–{5 + BULK} of {5 + BULK} · page 2 of 2"
    assert not page.el("next-page").is_enabled()
    page.el("prev-page").click()
    page.wait_for_ids(expected[:10])
    page.set_filter("status", "disconnected")
    page.wait(lambda: page.js("return document.querySelector('#clients-body tr.empty') !== null"))
    assert page.el("page-info").text == "0 clients"


def test_the_detail_panel_shows_fields_connections_records_and_the_event_log(page):
    page.signed_in()
    page.click_row(101)
    page.wait(lambda: page.visible("detail") and page.el("detail-title").text == "Representative #101")
    detail = page.js("""const body = document.getElementById('detail-body');
        const fields = {};
        for (const dt of body.querySelectorAll('dt'))
            fields[dt.textContent] = dt.nextElementSibling.textContent;
        return {fields, connections: Array.from(body.querySelectorAll('table.connections tbody tr'),
                                                tr => Array.from(tr.cells, c => c.textContent)),
                records: body.querySelectorAll('table.records tbody tr').length}""")
    assert detail["fields"]["Private display name"] == 'Jo Smith <Tier 2> & "friends"'
    assert detail["fields"]["Time zone"] == "UTC−05:00"
    assert detail["fields"]["Support sessions"].startswith("2" + populations.LSID_A)
    assert detail["connections"] == [
        ["support", "primary", "no", "2026-09-21 13:13:20Z", "10.1.2.3"],
        ["traffic-eu", "traffic", "yes", "2026-09-21 13:13:22Z", "10.1.2.3"],
    ]
    assert detail["records"] == 1
    log = page.log_rows()
    assert [row[2] for row in log] == [  # newest first
        "Connected to traffic node traffic-eu.example.com",
        "Failed to connect to traffic node traffic-us.example.com: connection timed out",
        "Connected to support.example.com as primary",
    ]
    assert [row[1] for row in log] == ["connect", "failure", "connect"]
    # A long history pages: 25 events, 20 a page.
    page.click_row(105)
    page.wait(lambda: page.el("detail-title").text == "Jumpoint #105" and len(page.log_rows()) == 20)
    assert page.log_rows()[0][2] == "Reconnect number 24 to traffic node traffic-eu.example.com"
    page.click("#log-next")
    page.wait(lambda: len(page.log_rows()) == 5)
    assert page.log_rows()[-1][2] == "Reconnect number 0 to traffic node traffic-eu.example.com"
    page.el("detail-close").click()
    assert not page.visible("detail")


def test_connects_and_disconnects_through_the_feed_appear_live(page, gateway):
    page.signed_in()
    page.js("window.sameDocument = true")  # gone if the page reloaded
    support_before = page.chart_count(populations.PRIMARY, "push_agent")
    created = gateway.feed(
        "POST",
        "/api/v1/clients",
        {
            "id": 300,
            "type": "push_agent",
            "hostname": "jp-live",
            "name": "Jumpoint Live",
            "platform": "Debian GNU/Linux 12",
            "platform_id": "linux-x86_64",
            "connections": [{"appliance_id": populations.PRIMARY, "private_ip": "10.0.0.30"}],
            "events": [{"kind": "connect", "text": "Connected to support.example.com as primary"}],
        },
    )
    assert created.status_code == 201, created.text
    # The row can show up before the stream delivers the change (a stream that reconnects reloads the table),
    # highlighted only once the change arrives: wait for both.
    row = page.wait(
        lambda: (
            any(item["kind"] == "connect" for item in page.feed_items())
            and next((r for r in page.rows() if r["id"] == 300 and r["fresh"]), None)
        ),
        message="the connected client did not appear, highlighted, with its feed entry",
    )
    assert row["cells"][2:4] == ["Jumpoint Live", "jp-live"] and row["fresh"]
    [connect] = [item for item in page.feed_items() if item["kind"] == "connect"]
    assert connect["id"] == "300" and "Jumpoint #300 Jumpoint Live jp-live" in connect["text"]
    page.wait(
        lambda: page.chart_count(populations.PRIMARY, "push_agent") == support_before + 1,
        message="the chart did not count the new client",
    )

    gone = gateway.feed(
        "POST", "/api/v1/clients/300/disconnect", {"reason": "Maintenance window", "initiator": "server"}
    )
    assert gone.status_code == 200, gone.text
    page.wait(lambda: 300 not in page.ids(), message="the disconnected client stayed in the connected view")
    page.wait(lambda: any(item["kind"] == "disconnect" for item in page.feed_items()))
    [disconnect] = [item for item in page.feed_items() if item["kind"] == "disconnect"]
    assert disconnect["id"] == "300"
    assert disconnect["text"].endswith(
        "disconnect Jumpoint #300 Jumpoint Live by the server: Maintenance window"
    )
    page.set_filter("status", "disconnected")
    page.wait_for_ids([300])
    status = page.rows()[0]["cells"][8]
    assert status.startswith("disconnected ") and status.endswith("by the server: Maintenance window")
    page.click_row(300)
    page.wait(lambda: page.el("detail-title").text == "Jumpoint #300" and len(page.log_rows()) == 2)
    assert page.log_rows()[0][1:3] == ["disconnect", "Disconnected by the server: Maintenance window"]
    assert page.js("return window.sameDocument") is True
    path = browser.screenshot(page.driver, f"ui-dashboard-{gateway.engine}", full_page=True)
    assert path.stat().st_size > 10_000


def test_stored_strings_render_as_text_and_xml_invalid_ones_are_refused(page, gateway):
    # XML-invalid characters never reach the registry: the feed refuses them, naming the field.
    for bad in ("name\x01", "lone \ud800 surrogate", "U+FFFF \uffff"):
        refused = gateway.feed(
            "POST",
            "/api/v1/clients",
            {
                "type": "presentation_attendee",
                "hostname": "h",
                "platform": "p",
                "platform_id": "x",
                "name": bad,
            },
        )
        assert refused.status_code == 400 and refused.json()["details"]["field"] == "name", refused.text
    assert gateway.api("/api/v1/clients", status="connected")["pagination"]["total"] == 5 + BULK
    put = gateway.feed(
        "PUT",
        f"/api/v1/appliances/{HOSTILE_APPLIANCE}",
        {"name": HOSTILE_APPLIANCE_NAME, "hostname": "lab.example.com"},
    )
    assert put.status_code in (200, 201), put.text
    page.signed_in()
    page.js("window.alerted = []; window.alert = (m) => window.alerted.push(String(m));")
    created = gateway.feed(
        "POST",
        "/api/v1/clients",
        {
            "id": 666,
            "type": "presentation_attendee",
            "name": HOSTILE["name"],
            "hostname": HOSTILE["hostname"],
            "platform": HOSTILE["platform"],
            "platform_id": "x",
            "connections": [{"appliance_id": HOSTILE_APPLIANCE}],
            "events": [{"kind": "info", "text": HOSTILE["event"]}],
        },
    )
    assert created.status_code == 201, created.text
    page.wait(lambda: 666 in page.ids())
    row = next(r for r in page.rows() if r["id"] == 666)
    assert row["cells"][2:5] == [HOSTILE["name"], HOSTILE["hostname"], HOSTILE["platform"]]
    page.wait(lambda: any(item["id"] == "666" for item in page.feed_items()))
    [item] = [item for item in page.feed_items() if item["id"] == "666"]
    assert f"{HOSTILE['name']} {HOSTILE['hostname']}" in item["text"]
    # A bidi override in a stored string reorders only that string, not the text around it.
    assert (
        page.js(
            "return getComputedStyle(document.querySelector('#feed li[data-client-id=\"666\"] .who'))"
            ".unicodeBidi"
        )
        == "isolate"
    )
    page.wait(lambda: page.chart_count(HOSTILE_APPLIANCE, "presentation_attendee") == 1)
    [label] = page.texts(f'#chart g[data-appliance="{HOSTILE_APPLIANCE}"] text.label title')
    assert label.startswith(HOSTILE_APPLIANCE_NAME + " (lab.example.com)")
    page.click_row(666)
    page.wait(lambda: page.el("detail-title").text == "Presentation attendee #666" and page.log_rows())
    assert page.log_rows()[0][2] == HOSTILE["event"]
    assert page.texts("table.connections tbody td:first-child") == [HOSTILE_APPLIANCE_NAME]
    # Nothing became markup: no element but the page's own, no handler ran, no alert.
    assert (
        page.texts(
            ", ".join(f"#dashboard {s}" for s in ("script", "img", "b", "svg svg", "[onerror]", "[onload]"))
        )
        == []
    )
    assert page.js("return window.alerted") == []
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        page.driver.switch_to.alert.text  # noqa: B018


def test_a_reset_of_the_registry_empties_the_page_live(page, gateway):
    page.signed_in()
    reset = requests.post(
        f"{gateway.url}/api/v1/admin/reset",
        json={"fixture": "empty"},
        headers=gateway.token("admin"),
        timeout=30,
    )
    assert reset.status_code == 200, reset.text
    page.wait(
        lambda: page.js("return document.querySelector('#clients-body tr.empty') !== null"),
        message="the table kept the clients of before the reset",
    )
    page.wait(lambda: page.texts("#chart-empty") == ["No client is connected."])
    page.wait(
        lambda: (
            page.js("return document.querySelector('#filters select[name=appliance]').options.length") == 1
        ),
        message="the appliance filter kept the appliances of before the reset",
    )
    assert [item["kind"] for item in page.feed_items()] == ["reset"]


def test_an_expired_token_signs_the_page_out(page, gateway):
    page.signed_in()
    admin = gateway.token("admin")
    try:
        advanced = requests.post(
            f"{gateway.url}/api/v1/admin/clock/advance", json={"seconds": 3601}, headers=admin, timeout=30
        )
        assert advanced.status_code == 200, advanced.text
        # Any request now answers 401: submitting the filters sends one. The live stream may reconnect
        # first and sign the page out itself, hiding the form: submit it from script (a click needs it shown).
        page.js("document.getElementById('filters').requestSubmit()")
        page.wait(lambda: page.visible("sign-in-error"), message="the page did not sign out")
        assert page.el("sign-in-error").text.startswith("Signed out: The access token has expired")
        assert not page.visible("dashboard") and page.rows() == []
        page.wait(lambda: page.live() == "off")
    finally:
        requests.post(f"{gateway.url}/api/v1/admin/clock/reset", headers=gateway.token("admin"), timeout=30)
    page.signed_in()  # signing in again works at once
    assert 101 in page.ids()


def test_the_stream_reconnects_and_resumes_without_repeating_changes(page, gateway):
    """Streams end every 4 s on this gateway: writes spread over more than one stream all arrive, once
    each."""
    page.signed_in()
    started = time.monotonic()
    for number in range(6):
        response = gateway.feed(
            "POST", "/api/v1/clients/101/events", {"kind": "info", "text": f"note {number}"}
        )
        assert response.status_code == 200
        connect = gateway.feed(
            "POST",
            "/api/v1/clients",
            {
                "id": 400 + number,
                "type": "presentation_attendee",
                "hostname": f"late-{number}",
                "platform": "p",
                "platform_id": "x",
                "name": f"Late {number}",
            },
        )
        assert connect.status_code == 201, connect.text
        time.sleep(1.5)
    assert time.monotonic() - started > 8  # at least two streams
    page.wait(
        lambda: len([i for i in page.feed_items() if i["kind"] == "connect"]) == 6,
        message="connects were lost across reconnects",
    )
    seqs = [item["seq"] for item in page.feed_items()]
    assert len(seqs) == len(set(seqs)) == 6, "a change was shown twice"
    assert sorted(int(item["id"]) for item in page.feed_items()) == list(range(400, 406))
    page.wait(lambda: page.el("clients").get_attribute("data-total") == str(5 + BULK + 6))
    journal = requests.get(
        f"{gateway.url}/api/v1/admin/journal",
        headers=gateway.token("admin"),
        timeout=30,
        params={"action": "events.events", "account": gateway.accounts["reader"].account.client_id},
    ).json()
    assert len(journal["entries"]) >= 2, "the page never reconnected"


PARSER_SAMPLE = (
    "retry: 250\r\n: stream open\r\n\r\n"
    'id: 7\nevent: connect\ndata: {"a": 1}\n\n'
    ": keepalive\nid: 9\n\n"
    "event: update\rdata: line one\rdata:line two\r\r"
    "data\nid: 10\n\n"
    "event: resync\r\nid: 12\r\ndata: {}\r\n\r\n"
    "data: no end yet"
)
PARSER_EXPECTED = [
    {"type": "connect", "data": '{"a": 1}', "id": "7"},
    {"type": "update", "data": "line one\nline two", "id": "9"},
    {"type": "message", "data": "", "id": "10"},
    {"type": "resync", "data": "{}", "id": "12"},
]


def test_the_pages_event_stream_parser_gives_the_same_events_however_the_stream_is_cut(page):
    """The page's own parser (gateway/ui/static/sse.js), run in the browser on the stream cut at every
    point."""
    result = page.driver.execute_async_script(
        """
        const [sample, done] = arguments;
        import('/ui/static/sse.js').then(({EventStreamParser}) => {
            const runs = [];
            for (let cut = 0; cut <= sample.length; cut++) {
                const events = [];
                const parser = new EventStreamParser((e) => events.push(e));
                parser.push(sample.slice(0, cut));
                parser.push(sample.slice(cut));
                runs.push({events, lastEventId: parser.lastEventId, retry: parser.retry});
            }
            done(runs);
        }, (error) => done(String(error)));""",
        PARSER_SAMPLE,
    )
    assert isinstance(result, list), result
    for cut, run in enumerate(result):
        assert run == {"events": PARSER_EXPECTED, "lastEventId": "12", "retry": 250}, f"cut at {cut}"


# --- sorting, the URL, export, new connects off the page ---------------------------------------------------
def sort_state(page) -> dict:
    return page.js(
        "return Object.fromEntries(Array.from(document.querySelectorAll('#clients th[data-sort]'), "
        "th => [th.dataset.sort, th.getAttribute('aria-sort')]))"
    )


def test_column_headers_sort_and_the_url_keeps_the_filters(page, gateway):
    page.signed_in()
    page.click("#clients th[data-sort=connected_since] button")
    page.wait_for_ids(api_ids(gateway, status="connected", order_by="connected_since", page_size=100))
    assert sort_state(page)["connected_since"] == "ascending" and sort_state(page)["id"] == "none"
    page.click("#clients th[data-sort=connected_since] button")  # again: the other way
    newest_first = api_ids(
        gateway, status="connected", order_by="connected_since", order="desc", page_size=100
    )
    page.wait_for_ids(newest_first)
    assert sort_state(page)["connected_since"] == "descending"
    assert page.el("filters").find_element("name", "order_by").get_attribute("value") == "connected_since"
    page.set_filter("hostname", "bulk-1")
    selection = api_ids(
        gateway, status="connected", hostname="bulk-1", order_by="connected_since", order="desc"
    )
    assert selection == [210, 211, 212]  # bulk-12 connected first
    page.wait_for_ids(selection)
    page.wait(lambda: "hostname=bulk-1" in page.js("return location.search"))
    search = page.js("return location.search")
    assert "order_by=connected_since" in search and "order=desc" in search
    # The same URL opened again (a reload, a link) shows the same selection once signed in.
    page.open(search)
    page.signed_in()
    page.wait_for_ids(selection)
    assert page.el("filters").find_element("name", "hostname").get_attribute("value") == "bulk-1"
    assert sort_state(page)["connected_since"] == "descending"
    page.open("?type=representative,push_agent&status=&page_size=10")
    page.signed_in()
    page.wait_for_ids(api_ids(gateway, type="representative,push_agent", page_size=10))
    assert page.el("filters").find_element("name", "status").get_attribute("value") == ""


def test_csv_export_downloads_every_client_of_the_selection(page, gateway, tmp_path):
    import csv

    page.driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    page.signed_in()
    page.set_filter("type", ["support_customer"])
    page.set_filter("page_size", "10")  # the export is every page, not this one
    # Durations count seconds: with the clock frozen the export and this read agree on every one.
    admin_call(gateway, "POST", "/clock/freeze")
    try:
        expected = gateway.api("/api/v1/clients", status="connected", type="support_customer", count=-1)
        page.wait_for_ids([item["id"] for item in expected["items"]][:10])
        page.click("#export-csv")
        done = page.wait(lambda: list(tmp_path.glob("clients-*.csv")), message="no CSV was downloaded")
    finally:
        admin_call(gateway, "POST", "/clock/reset")
    with done[0].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["id"]) for r in rows] == [item["id"] for item in expected["items"]] and len(rows) > 10
    first, item = rows[0], expected["items"][0]
    assert first["hostname"] == item["hostname"] and first["type"] == "support_customer"
    assert first["connected_since"] == iso8601(item["connected_since"])  # ISO 8601, as time_format=iso
    assert first["duration"] == str(item["duration"]) and first["connected"] == "true"


def test_a_connect_off_the_page_is_announced_and_one_click_shows_it(page, gateway):
    page.signed_in()
    page.set_filter("page_size", "10")
    page.wait(lambda: len(page.rows()) == 10)
    created = gateway.feed(
        "POST",
        "/api/v1/clients",
        {
            "id": 999,
            "type": "push_agent",
            "hostname": "jp-far",
            "name": "Jumpoint Far",
            "platform": "Debian GNU/Linux 12",
            "platform_id": "linux-x86_64",
            "connections": [{"appliance_id": populations.PRIMARY, "private_ip": "10.0.0.99"}],
        },
    )
    assert created.status_code == 201, created.text
    page.wait(lambda: page.visible("new-connects"), message="no badge for a connect off the page")
    assert "#999" in page.el("new-connects-text").text and 999 not in page.ids()
    page.click("#new-connects-show")
    page.wait(lambda: page.ids()[:1] == [999], message="the newest connect is not first")
    assert not page.visible("new-connects")
    assert next(r for r in page.rows() if r["id"] == 999)["fresh"]  # still highlighted where it now is


# --- the emulator view -------------------------------------------------------------------------------------
def admin_call(gateway, method: str, path: str, **kwargs) -> dict:
    response = requests.request(
        method, f"{gateway.url}/api/v1/admin{path}", headers=gateway.token("admin"), timeout=30, **kwargs
    )
    assert response.status_code < 300, response.text
    return response.json()


def fault_rows(page) -> list[dict]:
    return page.js("""return Array.from(document.querySelectorAll('#faults-body tr[data-id]'), tr => ({
        id: Number(tr.dataset.id), cells: Array.from(tr.cells, c => c.textContent)}))""")


def journal_rows(page) -> list[dict]:
    return page.js("""return Array.from(document.querySelectorAll('#journal-body tr[data-seq]'), tr => ({
        seq: Number(tr.dataset.seq), cells: Array.from(tr.cells, c => c.textContent)}))""")


def test_accounts_without_admin_never_see_the_emulator(page):
    page.open("#emulator")
    page.signed_in()
    assert not page.visible("view-emulator") and not page.visible("emulator") and page.visible("dashboard")


def test_the_emulator_view_tails_the_journal_and_drives_faults_clock_and_reset(page, gateway):
    try:
        page.signed_in("operator")
        assert page.el("account").text == "operator" and page.visible("view-emulator")
        page.click("#view-emulator")
        page.wait(lambda: page.visible("emulator") and not page.visible("dashboard"))
        assert page.js("return location.hash") == "#emulator"
        # The clock: what the admin API says, then advanced, frozen and reset from the page.
        page.wait(lambda: page.el("clock-state").text == "running" and page.el("clock-now").text)
        page.click("#clock-freeze")
        page.wait(lambda: page.el("clock-state").text == "frozen")
        frozen = admin_call(gateway, "GET", "/clock")
        assert frozen["frozen"] is True
        advance = page.el("clock-advance").find_element("name", "seconds")
        advance.clear()
        advance.send_keys("600")  # less than a token lives
        page.click("#clock-advance button[type=submit]")
        page.wait(lambda: admin_call(gateway, "GET", "/clock")["now"] == frozen["now"] + 600)
        page.wait(lambda: page.el("clock-now").get_attribute("datetime") == iso8601(int(frozen["now"]) + 600))
        page.click("#clock-reset")
        page.wait(lambda: page.el("clock-state").text == "running")
        assert admin_call(gateway, "GET", "/clock")["frozen"] is False
        # A fault rule added from the page fires on a real request; its counters show in the table.
        page.set_form(
            "fault-form", face="command", action="get_api_info", effect="error", value="503", times="1"
        )
        page.click("#fault-form button[type=submit]")
        rule = page.wait(lambda: fault_rows(page), message="the new rule is not listed")[0]
        assert admin_call(gateway, "GET", "/faults")["faults"][0]["id"] == rule["id"]
        assert "action get_api_info" in rule["cells"][1] and "error 503" in rule["cells"][2]
        refused = requests.get(
            f"{gateway.url}/api/command",
            params={"action": "get_api_info"},
            headers=gateway.token("reader"),
            timeout=30,
        )
        assert refused.status_code == 503
        page.wait(
            lambda: [r["cells"][4:7] for r in fault_rows(page)] == [["1", "1", "spent"]],
            message="the rule's counters did not follow",
        )
        # The journal's tail shows that request live, and its filters narrow it.
        page.wait(
            lambda: any(
                r["cells"][3] == "get_api_info" and r["cells"][5] == "503" for r in journal_rows(page)
            ),
            message="the refused request is not in the journal tail",
        )
        page.set_form("journal-filters", action="get_api_info")
        page.wait(
            lambda: journal_rows(page) and {r["cells"][3] for r in journal_rows(page)} == {"get_api_info"}
        )
        # ... with the text of the error the answer carried, as the journal keeps it.
        [entry] = admin_call(gateway, "GET", "/journal?action=get_api_info&status=503")["entries"]
        assert entry["error"], "the journal keeps the refusal's text"
        page.wait(
            lambda: any(
                r["cells"][5] == "503" and r["cells"][-1] == entry["error"] for r in journal_rows(page)
            ),
            message="the journal tail does not show the error text",
        )
        browser.screenshot(
            page.driver, f"ui-emulator-{gateway.engine}", full_page=True
        )  # rule, journal, clock
        page.click(f"#faults-body tr[data-id='{rule['id']}'] button")
        page.wait(lambda: fault_rows(page) == [], message="the removed rule stayed")
        assert admin_call(gateway, "GET", "/faults")["faults"] == []
        # Resetting the registry takes two clicks, then the clients view is empty.
        page.click("#reset-button")
        page.wait(lambda: page.el("reset-button").text.startswith("Click again"))
        page.click("#reset-button")
        page.wait(lambda: page.el("reset-result").text.startswith('Registry reset to "empty"'))
        assert gateway.api("/api/v1/clients")["pagination"]["total"] == 0
        page.click("#view-clients")
        page.wait(lambda: page.visible("dashboard") and not page.visible("emulator"))
        page.wait(lambda: page.js("return document.querySelector('#clients-body tr.empty') !== null"))
    finally:
        admin_call(gateway, "POST", "/controls/reset")


def test_the_sessions_card_shows_the_active_sessions_and_follows_the_feed(page, gateway):
    page.signed_in()

    def shown() -> list[str]:
        return page.js(
            "return Array.from(document.querySelectorAll('#sessions-body tr'), tr => tr.dataset.lsid)"
        )

    expected = [s["lsid"] for s in gateway.api("/api/v1/sessions")["items"]]
    assert expected
    page.wait(lambda: shown() == expected[:100], message=f"sessions card shows {shown()}")
    created = gateway.feed(
        "POST",
        "/api/v1/clients",
        {
            "id": 301,
            "type": "support_customer",
            "hostname": "DESKTOP-LIVE01",
            "name": "Live <b>Customer</b>",
            "lsid": "feedfeedfeedfeedfeedfeedfeedfeed",
            "platform": "Windows 11 Pro (x64)",
            "platform_id": "winNT-64",
            "connections": [{"appliance_id": populations.PRIMARY, "private_ip": "10.0.0.31"}],
        },
    )
    assert created.status_code == 201, created.text
    page.wait(lambda: "feedfeedfeedfeedfeedfeedfeedfeed" in shown(), message="the new session never showed")
    texts = page.texts("#sessions-body tr[data-lsid='feedfeedfeedfeedfeedfeedfeedfeed'] td")
    assert texts[2] == "Live <b>Customer</b> #301"  # as text, never markup
