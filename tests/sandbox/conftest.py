"""Fixtures for the sandbox tests: a real TCP server on 127.0.0.1, secrets in the parent's environment."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

SECRET = "sk-v2p-sandbox-test-secret-4711"


class LoopbackServer:
    """Accepts connections on 127.0.0.1 and counts them; an attack that reaches it has escaped the network."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture
def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """API keys and a proxy in the parent's environment, as on a developer's machine."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("V2P_LLM_API_KEY", SECRET)
    monkeypatch.setenv("HTTPS_PROXY", f"http://{SECRET}@proxy.invalid:3128")
    return SECRET
