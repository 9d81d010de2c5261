"""Baseline 2: the cheapest Flask app of the same shape, a fixed 1 KB XML body (served by gunicorn)."""

from flask import Flask, Response

BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<connected_clients xmlns="https://www.beyondtrust.com/namespaces/API/command">'
    b'<connected_support_customer id="1"><hostname>'
    + b"x" * 830
    + b"</hostname></connected_support_customer>"
    + b"</connected_clients>"
)
assert 1000 <= len(BODY) <= 1100

app = Flask(__name__)


@app.route("/api/command")
def command():
    return Response(BODY, content_type="text/xml; charset=UTF-8")
