"""The dashboard's HTTP surface without a browser: the page and its files, their security headers, no
inline script anywhere, scripts that never turn strings into markup or store the token, and the switch
that removes the page. (The page's behaviour is tested in headless Chromium: tests/test_ui_browser.py.)"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from gateway import create_app
from gateway.ui import STATIC

SCRIPTS = sorted(STATIC.glob("*.js"))
IMPORT = re.compile(r"""(?:^|\n)\s*import\s[^;]*?from\s+"(\./[^"]+)"|import\("([^"]+)"\)""")


@pytest.fixture
def make_app(tmp_path, migrated_sqlite):
    """make_app(**config): an app on its own SQLite copy (the dashboard reads no data itself)."""
    apps = []

    def make(**config):
        path = tmp_path / f"gateway{len(apps)}.db"
        shutil.copyfile(migrated_sqlite, path)
        app = create_app({"DATABASE_URL": f"sqlite:///{path}", "TESTING": True, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["gateway"].store.close()


@pytest.fixture
def web(make_app) -> FlaskClient:
    """A plain test client: HTML is what this surface serves (the suite's ValidatingClient refuses it)."""
    return FlaskClient(make_app(), use_cookies=False)


class Markup(HTMLParser):
    """Every start tag with its attributes, and the text inside each <script> and <style>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.inline: list[tuple[str, str]] = []
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag):
        self._open = None

    def handle_data(self, data):
        if self._open and data.strip():
            self.inline.append((self._open, data))


def parse(html: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    return markup


def csp(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_the_page_is_served_with_a_strict_content_security_policy(web):
    response = web.get("/ui/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = csp(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no hosts
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["require-trusted-types-for"] == ["'script'"]
    assert policy["trusted-types"] == ["command-xml"]
    assert not [v for values in policy.values() for v in values if "unsafe" in v or v == "*" or ":" in v]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_page_has_no_inline_script_style_or_event_handler(web):
    markup = parse(web.get("/ui/").get_data(as_text=True))
    assert markup.inline == []
    scripts = [attrs for tag, attrs in markup.tags if tag == "script"]
    assert scripts == [{"type": "module", "src": "/ui/static/app.js"}]
    assert not [tag for tag, _ in markup.tags if tag == "style"]
    for tag, attrs in markup.tags:
        assert not [name for name in attrs if name.startswith("on") or name == "style"], (tag, attrs)
        for name in ("src", "href", "action"):
            if name in attrs:
                assert attrs[name].startswith("/ui/"), (
                    tag,
                    attrs,
                )  # the gateway's own files, no javascript: URL
    # The sign-in form cannot send anything before the script takes it over (a disabled fieldset), and
    # would send a POST to the page (405), never the secret in a URL.
    form = next(attrs for tag, attrs in markup.tags if tag == "form" and attrs.get("id") == "sign-in-form")
    assert form["method"] == "post"
    assert ("fieldset", {"id": "sign-in-fields", "disabled": None}) in markup.tags


def assets_reachable(web) -> set[str]:
    """Every file the page loads: its links and scripts, then every module those scripts import."""
    markup = parse(web.get("/ui/").get_data(as_text=True))
    todo = [
        attrs.get("src") or attrs.get("href")
        for tag, attrs in markup.tags
        if tag in ("script", "link", "img")
    ]
    seen = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if path.endswith(".js"):
            text = web.get(path).get_data(as_text=True)
            for relative, absolute in IMPORT.findall(text):
                todo.append(absolute or path.rsplit("/", 1)[0] + "/" + relative[2:])
    return seen


def test_every_file_the_page_loads_is_served_with_its_type_and_the_same_headers(web):
    reachable = assets_reachable(web)
    assert {p.name for p in STATIC.iterdir()} == {
        p.rsplit("/", 1)[1] for p in reachable
    }  # nothing missing, nothing unused
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for path in reachable:
        response = web.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == types[Path(path).suffix], path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_never_turn_data_into_markup_or_keep_the_token(script):
    text = script.read_text()
    code = re.sub(r"//[^\n]*", "", text)  # comments may name what is avoided
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        'setTimeout("',
        "srcdoc",
        "javascript:",
        "localStorage",
        "sessionStorage",
        "document.cookie",
        "indexedDB",
        "EventSource",
    ):
        assert sink not in code, f"{script.name} uses {sink}"
    assert not re.search(r"setAttribute\(\s*[\"'](on|style)", code), script.name
    if "parseFromString" in code:  # the one markup parser: the command API's XML, through the one policy
        assert script.name == "api.js"
        assert re.findall(r"parseFromString\((.*)\);", code) == [
            'xmlPolicy.createHTML(text), "application/xml"'
        ]


def test_the_page_and_its_files_are_not_found_when_the_dashboard_is_disabled(make_app):
    web = FlaskClient(make_app(UI_ENABLED="false"), use_cookies=False)
    for path in ("/ui/", "/ui/static/app.js"):
        response = web.get(path)
        assert response.status_code == 404 and "html" not in response.mimetype
        assert b"GATEWAY_UI_ENABLED=false" in response.data
    assert web.get("/api/v1/openapi.json").status_code == 200  # the rest of the gateway is there


def test_paths_outside_the_files_are_not_found_and_never_html(web):
    assert web.get("/ui").status_code == 308 and web.get("/ui").headers["Location"].endswith("/ui/")
    for path in (
        "/ui/static/missing.js",
        "/ui/static/../__init__.py",
        "/ui/static/%2e%2e/__init__.py",
        "/ui/static/app.py",
        "/ui/index.html",
        "/ui/static/",
    ):
        response = web.get(path)
        assert response.status_code == 404, path
        assert "html" not in response.mimetype and b"Traceback" not in response.data
        assert (
            response.headers["X-Content-Type-Options"] == "nosniff"
        )  # errors under /ui carry the headers too
    assert web.post("/ui/", data={"client_secret": "x"}).status_code == 405
