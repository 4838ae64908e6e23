"""A local HTTP server that speaks the part of Ollama's documented API the tutor uses.

``GET /api/tags`` lists models; ``POST /api/chat`` streams NDJSON chunks
(``{"message": {"role": "assistant", "content": ...}, "done": false}`` ... then a final
``"done": true`` with ``done_reason`` and counts), or answers 404 ``{"error": ...}`` for an unknown
model. Scripted replies, recorded requests, and two faults: a stall and a dropped connection.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOllama:
    def __init__(self, models: tuple[str, ...] = ("qwen2.5-coder:1.5b",)) -> None:
        self.models = list(models)
        self.replies: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.stall_seconds = 0.0  # sleep before the first chunk
        self.drop_after: int | None = None  # close the connection after this many chunks
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/api/tags":
                    self._json(200, {"models": [
                        {"name": m, "model": m, "modified_at": "2026-11-01T00:00:00Z", "size": 986061892,
                         "digest": "0" * 64, "details": {"format": "gguf", "family": "qwen2",
                                                          "parameter_size": "1.5B", "quantization_level": "Q4_K_M"}}
                        for m in server.models]})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:  # noqa: N802
                try:
                    self._post()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing left to say to it

            def _post(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append({"path": self.path, "body": body})
                if self.path != "/api/chat":
                    self._json(404, {"error": "not found"})
                    return
                if body.get("model") not in server.models:
                    self._json(404, {"error": f"model \"{body.get('model')}\" not found, try pulling it first"})
                    return
                reply = server.replies.pop(0) if server.replies else "NOT_COVERED"
                time.sleep(server.stall_seconds)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                pieces = [reply[i : i + 6] for i in range(0, len(reply), 6)]
                for n, piece in enumerate(pieces):
                    if server.drop_after is not None and n >= server.drop_after:
                        self.wfile.flush()
                        self.connection.shutdown(2)  # mid-stream: no final chunk, no terminator
                        self.close_connection = True
                        return
                    self._chunk({"model": body["model"], "created_at": "2026-11-24T00:00:00Z",
                                 "message": {"role": "assistant", "content": piece}, "done": False})
                self._chunk({"model": body["model"], "created_at": "2026-11-24T00:00:00Z",
                             "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
                             "total_duration": 1000, "load_duration": 10, "prompt_eval_count": 100,
                             "prompt_eval_duration": 100, "eval_count": len(pieces), "eval_duration": 100})
                self.wfile.write(b"0\r\n\r\n")

            def _chunk(self, obj: dict[str, Any]) -> None:
                data = json.dumps(obj).encode() + b"\n"
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeOllama:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
