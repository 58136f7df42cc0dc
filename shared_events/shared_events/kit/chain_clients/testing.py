"""A real HTTP server on 127.0.0.1 for the chain clients' tests (accounts' stake distribution,
polls' payout transactions): the clients' own code runs over real sockets, only the remote end
is local. Each test scripts its answers as Blockfrost or Koios document them."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: object = None  # a POST's JSON body, decoded (None when not JSON)


@dataclasses.dataclass
class Answer:
    status: int = 200
    body: object = None  # JSON-encoded unless bytes
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "text/plain"
        return json.dumps(self.body).encode(), "application/json"


Route = Callable[[Request], Answer]


class LocalHttpServer:
    """Routes by path prefix; `faults` are answered first, one per request, before the routes."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, Route]] = []
        self.faults: list[Answer] = []
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._serve("GET", None)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                self._serve("POST", body)

            def _serve(self, method: str, body: object) -> None:
                parts = urlsplit(self.path)
                request = Request(
                    method=method,
                    path=parts.path,
                    query={key: values[-1] for key, values in parse_qs(parts.query).items()},
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=body,
                )
                server.requests.append(request)
                answer = server.faults.pop(0) if server.faults else server.answer(request)
                payload, content_type = answer.encoded()
                self.send_response(answer.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, prefix: str, handler: Route) -> None:
        self.routes.append((prefix, handler))

    def answer(self, request: Request) -> Answer:
        for prefix, handler in self.routes:
            if request.path.startswith(prefix):
                return handler(request)
        return Answer(
            404,
            {
                "status_code": 404,
                "error": "Not Found",
                "message": "The requested component has not been found.",
            },
        )

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def start(self) -> LocalHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
