"""Connecting to a Ray cluster, or failing in seconds with one message that names the address, what was tried and
what to do.

Left to itself, `ray.init(address=...)` retries an unreachable or token-refusing head for about 20 s, printing a
warning a second, and ends in a traceback; a token setting that points nowhere aborts the process from C++. So
before `ray.init`, curate checks the token settings (as Ray's loader reads them), opens a TCP connection to the head
and asks its GCS for the cluster id with the same token Ray will send (one request, no retries).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from curate.core.errors import CurateError, SettingError

DOCS = "see the README, section 'Scaling out on Ray'"
TCP_TIMEOUT_S = 5.0
HANDSHAKE_TIMEOUT_S = 10.0
REFUSED = "refused"


class ClusterError(CurateError):
    """The Ray cluster can't be reached, or refuses this machine."""

    exit_code = 2


@dataclass(frozen=True)
class Auth:
    """What this process will present to a cluster: `source` names the token Ray sends (None: no token)."""

    mode: str | None  # RAY_AUTH_MODE as set (None: unset)
    source: str | None

    def tried(self) -> str:
        if self.source:
            return f"with the token from {self.source} (RAY_AUTH_MODE=token)"
        mode = "is not set" if self.mode is None else f"is {self.mode!r}, not 'token'"
        return f"without a token (RAY_AUTH_MODE {mode} here)"


def auth_settings(env: Mapping[str, str], home: Path) -> Auth:
    """The token Ray's loader will use, in its order (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token);
    a RAY_AUTH_TOKEN_PATH that names no token, or token mode without any token, is refused here: Ray aborts on it."""
    mode = env.get("RAY_AUTH_MODE")
    if (mode or "").strip().lower() != "token":
        return Auth(mode, None)
    if env.get("RAY_AUTH_TOKEN", "").strip():
        return Auth(mode, "RAY_AUTH_TOKEN")
    if env.get("RAY_AUTH_TOKEN_PATH"):
        path = Path(env["RAY_AUTH_TOKEN_PATH"]).expanduser()
        if not _read_token(path):
            raise SettingError(
                f"RAY_AUTH_TOKEN_PATH={env['RAY_AUTH_TOKEN_PATH']}: no token there (the file is "
                "missing, unreadable or empty); put the cluster's token in it (`ray get-auth-token` "
                f"on the head prints it), or unset RAY_AUTH_TOKEN_PATH; {DOCS}"
            )
        return Auth(mode, f"{env['RAY_AUTH_TOKEN_PATH']} (RAY_AUTH_TOKEN_PATH)")
    if _read_token(home / ".ray" / "auth_token"):
        return Auth(mode, "~/.ray/auth_token")
    raise SettingError(
        "RAY_AUTH_MODE=token, but this machine has no token: copy the head's ~/.ray/auth_token to "
        "~/.ray/auth_token here, or set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH, a file holding it); "
        f"`ray get-auth-token` on the head prints it; {DOCS}"
    )


def _read_token(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def host_port(address: str, origin: str) -> tuple[str, int] | None:
    """HOST:PORT (an IPv6 host in brackets) as a pair; None for Ray's own forms (`auto`, `local`, `ray://...`)."""
    if address in ("auto", "local") or address.startswith("ray://"):
        return None
    host, sep, port = address.rpartition(":")
    if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
        raise SettingError(
            f"{origin} {address!r}: a Ray cluster's address is HOST:PORT, the head's address and "
            f"its `--port` (e.g. 10.0.0.5:6379); {DOCS}"
        )
    return host.strip("[]"), int(port)


def check_cluster(address: str, origin: str, auth: Auth) -> None:
    """Raise a ClusterError unless a Ray head answers at HOST:PORT and accepts this machine's token."""
    where = host_port(address, origin)
    if where is None:
        return  # left to ray.init
    cluster = f"the Ray cluster at {address} ({origin})"
    try:
        socket.create_connection(where, timeout=TCP_TIMEOUT_S).close()
    except OSError as exc:
        reason = f"no answer in {TCP_TIMEOUT_S:g} s" if isinstance(exc, TimeoutError) else _reason(exc)
        raise ClusterError(
            f"can't reach {cluster}: a TCP connection to port {where[1]} failed ({reason}). Check that the head runs "
            f"there (`ray status --address={address}` on the head), that this machine can reach that port (a "
            f"firewall?), and that the port is the head's `--port` (6379 by default); {DOCS}"
        ) from None
    problem = _handshake(address)
    if problem is None:
        return
    if problem == REFUSED:
        raise ClusterError(
            f"{cluster} refused the connection, which curate tried {auth.tried()}. " + _token_advice(auth)
        )
    raise ClusterError(
        f"{cluster} accepts TCP connections but did not answer as a Ray head (its GCS) to curate, which tried "
        f"{auth.tried()}: {problem.rstrip('.')}. Is port {where[1]} the head's `--port` (6379 by default), not its "
        f"dashboard (8265) or client server (10001)? Do the head and this machine run the same Ray version? {DOCS}"
    )


def _token_advice(auth: Auth) -> str:
    if auth.source is None:
        return (
            "The cluster wants its token (Ray's token authentication): `export RAY_AUTH_MODE=token` and give this "
            "machine the head's token (copy the head's ~/.ray/auth_token to ~/.ray/auth_token here, or set "
            f"RAY_AUTH_TOKEN); `ray get-auth-token` on the head prints it; {DOCS}"
        )
    return (
        f"That is not the token the head was started with: `ray get-auth-token` on the head prints the right "
        f"one; {DOCS}"
    )


def _reason(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return f"the name does not resolve: {exc.strerror}"
    return exc.strerror or str(exc) or type(exc).__name__


def _handshake(address: str) -> str | None:
    """Ask the head's GCS for the cluster id, once: None if it answers, REFUSED if it refuses the token, else what
    went wrong. Ray's client logs a warning per failed attempt from C++; the message that follows says more."""
    from ray._raylet import AuthenticationTokenLoader, InnerGcsClient
    from ray.exceptions import AuthenticationError, RayError

    AuthenticationTokenLoader.instance().reset_cache()  # the token the environment names now, as `Auth` describes it
    try:
        with _quiet_stderr():
            InnerGcsClient.standalone(address, None, int(HANDSHAKE_TIMEOUT_S * 1000))
    except AuthenticationError:
        return REFUSED
    except RayError as exc:
        return str(exc).split("\n")[0]
    return None


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 to /dev/null: Ray's C++ logs there, out of reach of Python's logging."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
