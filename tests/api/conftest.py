"""The JSON API's fixtures: a token of a unit, and a real local HTTP receiver for webhooks."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture
def api_token(db, world):
    """``api_token(code)`` creates a token for the unit ``code`` (as an administrator would) and returns
    (the token row, the plain token, the Authorization header)."""
    from caseflow.cases import api_tokens as tokens

    def make(code: str, name: str = "12345热线平台"):
        token, raw = tokens.create_token(world.user("admin", "410000"), world.unit(code), name)
        db.session.commit()
        return token, raw, {"Authorization": f"Bearer {raw}"}

    return make


@dataclass
class Receiver:
    """What a local HTTP server received, and the statuses it answers with (then 200)."""

    url: str
    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict, bytes]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[dict, bytes]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, timeout), self.received
        return self.received


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 (a thread), recording every POST."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state.answers.pop(0) if state.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            with state.arrived:
                state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                state.arrived.notify_all()

        def log_message(self, *args):
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def body_of(resp) -> dict:
    return json.loads(resp.get_data(as_text=True))
