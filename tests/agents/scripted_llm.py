"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1 (a real socket, a random port), for tests.

Each request to /v1/chat/completions is answered by a handler: `script(request_json, n) -> Reply`, where n counts
requests from 0. A Reply can be a normal completion, an HTTP error status, or a delay (to trip the client's timeout).
Every request body is kept in `server.requests`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    prompt_tokens: int = 100
    completion_tokens: int = 50


Script = Callable[[dict[str, Any], int], Reply]


class ScriptedLLM:
    def __init__(self, script: Script, model: str = "scripted-model"):
        self.script = script
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with server._lock:
                    n = len(server.requests)
                    server.requests.append(body)
                reply = server.script(body, n)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    self._send(
                        reply.status, {"error": {"message": f"scripted failure {reply.status}", "type": "server_error"}}
                    )
                    return
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{n}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": server.model,
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": reply.content},
                            }
                        ],
                        "usage": {
                            "prompt_tokens": reply.prompt_tokens,
                            "completion_tokens": reply.completion_tokens,
                            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                        },
                    },
                )

            def _send(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ScriptedLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def agent_of(request: dict[str, Any]) -> str:
    """Which agent sent a request, from its system prompt."""
    system = request["messages"][0]["content"]
    for agent, words in (
        ("analyst", "scene analyst"),
        ("coder", "task coder"),
        ("critic", "code critic"),
        ("reflector", "reward reflector"),
    ):
        if words in system:
            return agent
    return "unknown"


def last_user_text(request: dict[str, Any]) -> str:
    content = request["messages"][-1]["content"]
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if part.get("type") == "text")
    return content


def code_reply(code: str, thoughts: str = "Let me think step by step.") -> str:
    return f"{thoughts}\n```python\n{code.strip()}\n```\n"
