"""A throwaway Synapse homeserver on loopback, for tests and benchmarks.

The homeserver runs as a child process of the current Python interpreter (the
``matrix-synapse`` package must be installed in the same environment), keeps its
SQLite database, signing key and logs in a directory of its own, listens only on
127.0.0.1, has federation disabled and rate limits raised far above anything a test
does. Users are created through the shared-secret registration admin API.

Everything here is synchronous on purpose: it is used from session-scoped pytest
fixtures (which have no event loop) and from the benchmark script alike.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_NAME = "localhost"

# Generous enough that no test or benchmark ever meets a 429, while still exercising
# Synapse's real rate limiter code paths.
_MANY = {"per_second": 10_000, "burst_count": 100_000}
_RATE_LIMITS: dict[str, Any] = {
    "rc_message": _MANY,
    "rc_registration": _MANY,
    "rc_login": {"address": _MANY, "account": _MANY, "failed_attempts": _MANY},
    "rc_joins": {"local": _MANY, "remote": _MANY},
    "rc_joins_per_room": _MANY,
    "rc_invites": {"per_room": _MANY, "per_user": _MANY, "per_issuer": _MANY},
    "rc_admin_redaction": _MANY,
    "rc_key_requests": _MANY,
    "rc_3pid_validation": _MANY,
    "rc_presence": {"per_user": _MANY},
    "rc_room_creation": _MANY,
    "rc_profile": _MANY,
}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RegisteredUser:
    """A user created on the test homeserver."""

    user_id: str
    password: str
    access_token: str
    device_id: str


class SynapseError(RuntimeError):
    """The homeserver did not start, or an admin request failed."""


class Synapse:
    """One Synapse process with its configuration in ``base_dir``.

    ``start()`` writes the configuration on first use, launches the process and waits
    until ``/health`` answers; ``stop()`` terminates it; ``restart()`` keeps the port
    and the data, like an operator restarting the homeserver.
    """

    def __init__(self, base_dir: Path, port: int | None = None) -> None:
        self.base_dir = Path(base_dir)
        self.port = port or free_port()
        self.server_name = SERVER_NAME
        self.url = f"http://127.0.0.1:{self.port}"
        self.shared_secret = secrets.token_hex(16)
        self.config_path = self.base_dir / "homeserver.yaml"
        self.log_path = self.base_dir / "homeserver.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._output: Any = None

    # -- configuration -----------------------------------------------------------------

    def write_config(self) -> None:
        """Write homeserver.yaml, the log config and a fresh signing key (once)."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        signing_key = self.base_dir / "signing.key"
        if not signing_key.exists():
            # signedjson ships with Synapse; generating the key ourselves avoids a
            # second interpreter start just for `--generate-keys`.
            from signedjson.key import generate_signing_key, write_signing_keys

            with signing_key.open("w") as fh:
                write_signing_keys(fh, [generate_signing_key("a_test")])
        log_config = self.base_dir / "log.yaml"
        log_config.write_text(
            json.dumps(
                {
                    "version": 1,
                    "formatters": {
                        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
                    },
                    "handlers": {
                        "file": {
                            "class": "logging.FileHandler",
                            "filename": str(self.log_path),
                            "formatter": "plain",
                        }
                    },
                    "root": {"level": "WARNING", "handlers": ["file"]},
                    "disable_existing_loggers": False,
                }
            )
        )
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "public_baseurl": self.url + "/",
            "pid_file": str(self.base_dir / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.base_dir / "homeserver.db")},
            },
            "log_config": str(log_config),
            "media_store_path": str(self.base_dir / "media"),
            "signing_key_path": str(signing_key),
            "registration_shared_secret": self.shared_secret,
            "enable_registration": False,
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "report_stats": False,
            "enable_metrics": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            # No federation at all: no federation listener and no outbound destinations.
            "federation_domain_whitelist": [],
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "user_directory": {"enabled": False},
            # Synapse caches /sync responses for 2 minutes by default, so a client that
            # repeats a request with an old token gets the cached answer again. That can
            # hide a client that loses or replays its sync token; tests must see every
            # request answered from the database.
            "caches": {"sync_response_cache_duration": "0s"},
            **_RATE_LIMITS,
        }
        # JSON is valid YAML, and the json module needs no extra dependency.
        self.config_path.write_text(json.dumps(config, indent=2))

    # -- process -----------------------------------------------------------------------

    def start(self, timeout: float = 90.0) -> None:
        """Start the homeserver and wait until it answers ``/health``."""
        if self._proc is not None and self._proc.poll() is None:
            return
        if not self.config_path.exists():
            self.write_config()
        self._output = (self.base_dir / "stdout.log").open("ab")
        env = dict(os.environ)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
            cwd=self.base_dir,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self._wait_healthy(timeout)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise SynapseError(
                    f"Synapse exited with {self._proc.returncode}:\n{self.tail_logs()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(delay)  # polling a child process; not test synchronisation
            delay = min(delay * 1.5, 0.5)
        raise SynapseError(f"Synapse not healthy after {timeout}s:\n{self.tail_logs()}")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the homeserver (SIGTERM, then SIGKILL if it does not exit in time)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._output is not None:
            self._output.close()
            self._output = None

    def restart(self, timeout: float = 90.0) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start(timeout)

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def tail_logs(self, lines: int = 40) -> str:
        """The last lines of the homeserver's log files, for error messages."""
        out = []
        for path in (self.base_dir / "stdout.log", self.log_path):
            if path.exists():
                out.append(f"== {path.name}")
                out.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(out)

    def __enter__(self) -> Synapse:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP helpers ------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """Make a client/admin API request and return the decoded JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                result: dict[str, Any] = json.loads(resp.read() or b"{}")
                return result
        except urllib.error.HTTPError as exc:
            raise SynapseError(
                f"{method} {path}: {exc.code} {exc.read().decode(errors='replace')}"
            ) from exc

    def register(
        self, localpart: str, password: str | None = None, admin: bool = False
    ) -> RegisteredUser:
        """Create a user with the shared-secret registration API (HMAC-SHA1 over a nonce)."""
        password = password or secrets.token_urlsafe(12)
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        message = b"\x00".join(
            part.encode() for part in (nonce, localpart, password, "admin" if admin else "notadmin")
        )
        mac = hmac.new(self.shared_secret.encode(), message, hashlib.sha1)
        result = self.request(
            "POST",
            "/_synapse/admin/v1/register",
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )
        return RegisteredUser(
            user_id=result["user_id"],
            password=password,
            access_token=result["access_token"],
            device_id=result["device_id"],
        )

    def user_id(self, localpart: str) -> str:
        """The full Matrix id of a local user."""
        return f"@{localpart}:{self.server_name}"
