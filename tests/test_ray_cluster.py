"""The README's cluster path: connecting to a Ray cluster (or one clear message why not), and the quick start on a
real two-node cluster started with `ray start`, byte for byte the local engine's output."""

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from curate.core.errors import SettingError
from curate.run.ray_connect import DOCS, Auth, ClusterError, auth_settings, check_cluster, host_port
from tests.conftest import ROOT

NO_TOKEN = "without a token (RAY_AUTH_MODE is not set here)"
WANTS_TOKEN = (
    "The cluster wants its token (Ray's token authentication): `export RAY_AUTH_MODE=token` and give this "
    "machine the head's token (copy the head's ~/.ray/auth_token to ~/.ray/auth_token here, or set "
    f"RAY_AUTH_TOKEN); `ray get-auth-token` on the head prints it; {DOCS}"
)


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable(address: str, origin: str, port: int, reason: str) -> str:
    return (
        f"can't reach the Ray cluster at {address} ({origin}): a TCP connection to port {port} failed ({reason}). "
        f"Check that the head runs there (`ray status --address={address}` on the head), that this machine can "
        f"reach that port (a firewall?), and that the port is the head's `--port` (6379 by default); " + DOCS
    )


# token settings, as Ray's loader reads them ---------------------------------------------------------------------


def test_auth_without_token_mode_sends_no_token(tmp_path):
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("abc")  # there, but not sent: Ray sends it only in token mode
    assert auth_settings({}, tmp_path) == Auth(None, None)
    assert auth_settings({}, tmp_path).tried() == NO_TOKEN
    assert (
        auth_settings({"RAY_AUTH_MODE": "tokn"}, tmp_path).tried()
        == "without a token (RAY_AUTH_MODE is 'tokn', not 'token' here)"
    )


def test_auth_token_sources_in_rays_order(tmp_path):
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-home\n")
    (tmp_path / "t").write_text(" from-file \n")
    env = {"RAY_AUTH_MODE": "Token", "RAY_AUTH_TOKEN": "from-env", "RAY_AUTH_TOKEN_PATH": str(tmp_path / "t")}
    assert auth_settings(env, tmp_path).tried() == "with the token from RAY_AUTH_TOKEN (RAY_AUTH_MODE=token)"
    env["RAY_AUTH_TOKEN"] = "  "  # blank: not a token
    assert (
        auth_settings(env, tmp_path).tried()
        == f"with the token from {tmp_path / 't'} (RAY_AUTH_TOKEN_PATH) (RAY_AUTH_MODE=token)"
    )
    del env["RAY_AUTH_TOKEN_PATH"]
    assert auth_settings(env, tmp_path).tried() == "with the token from ~/.ray/auth_token (RAY_AUTH_MODE=token)"


def test_auth_token_settings_ray_would_abort_on(tmp_path):
    """Ray's C++ loader aborts the process (a core-dump style stack) on these; curate says what to do instead."""
    (tmp_path / "empty").write_text("\n")
    for path in (tmp_path / "missing", tmp_path / "empty"):
        with pytest.raises(SettingError) as caught:
            auth_settings({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(path)}, tmp_path)
        assert str(caught.value) == (
            f"RAY_AUTH_TOKEN_PATH={path}: no token there (the file is missing, unreadable or empty); put the "
            f"cluster's token in it (`ray get-auth-token` on the head prints it), or unset RAY_AUTH_TOKEN_PATH; {DOCS}"
        )
    with pytest.raises(SettingError) as caught:
        auth_settings({"RAY_AUTH_MODE": "token"}, tmp_path)
    assert str(caught.value) == (
        "RAY_AUTH_MODE=token, but this machine has no token: copy the head's ~/.ray/auth_token to ~/.ray/auth_token "
        "here, or set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH, a file holding it); `ray get-auth-token` on the head "
        f"prints it; {DOCS}"
    )


# addresses and reachability ---------------------------------------------------------------------------------------


def test_host_port():
    assert host_port("10.0.0.5:6379", "--address") == ("10.0.0.5", 6379)
    assert host_port("[::1]:6379", "--address") == ("::1", 6379)
    assert [host_port(a, "RAY_ADDRESS") for a in ("auto", "local", "ray://head:10001")] == [None, None, None]
    for bad in ("head", "head:", "head:port", "head:70000", ":6379"):
        with pytest.raises(SettingError) as caught:
            host_port(bad, "RAY_ADDRESS")
        assert str(caught.value) == (
            f"RAY_ADDRESS {bad!r}: a Ray cluster's address is HOST:PORT, the head's address "
            f"and its `--port` (e.g. 10.0.0.5:6379); {DOCS}"
        )


def test_unreachable_cluster_is_one_message():
    port = closed_port()
    with pytest.raises(ClusterError) as caught:
        check_cluster(f"127.0.0.1:{port}", "--address", Auth(None, None))
    assert str(caught.value) == unreachable(f"127.0.0.1:{port}", "--address", port, "Connection refused")
    assert caught.value.exit_code == 2
    with pytest.raises(ClusterError) as caught:
        check_cluster("no-such-head.invalid:6379", "RAY_ADDRESS", Auth(None, None))
    assert str(caught.value).startswith(
        "can't reach the Ray cluster at no-such-head.invalid:6379 (RAY_ADDRESS): a "
        "TCP connection to port 6379 failed (the name does not resolve: "
    )


def test_cli_unreachable_cluster_exit_2_no_traceback(cli, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    (tmp_path / "in.jsonl").write_text('{"text": "hello there"}\n')
    (tmp_path / "r.yaml").write_text("name: r\nsources:\n  - path: in.jsonl\nsteps: []\noutput:\n  dir: out\n")
    port = closed_port()
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    result = cli("run", "r.yaml", "--engine", "ray", cwd=tmp_path)
    assert result.code == 2, result
    error = unreachable(f"127.0.0.1:{port}", "RAY_ADDRESS", port, "Connection refused")
    assert result.err == (
        f"output: out (= {tmp_path / 'out'})\nray: connecting to 127.0.0.1:{port} (RAY_ADDRESS) "
        f"{NO_TOKEN}\nerror: {error}\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_port_that_is_not_a_ray_head(tmp_path):
    """Something listens (here: a socket that never answers), but no Ray GCS: said in one message."""
    pytest.importorskip("ray")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with pytest.raises(ClusterError) as caught:
            check_cluster(f"127.0.0.1:{port}", "--address", Auth(None, None))
    assert str(caught.value) == (
        f"the Ray cluster at 127.0.0.1:{port} (--address) accepts TCP connections but did not answer as a Ray head "
        f"(its GCS) to curate, which tried {NO_TOKEN}: Timed out while waiting for GCS to become available. Is port "
        f"{port} the head's `--port` (6379 by default), not its dashboard (8265) or client server (10001)? Do the "
        f"head and this machine run the same Ray version? {DOCS}"
    )


# the quick start on a real two-node cluster -----------------------------------------------------------------------


def digest(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.glob("*/*.parquet"))
    }


def curate_run(out: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`curate run recipes/quickstart.yaml` as a user types it, from the project folder."""
    return subprocess.run(
        [sys.executable, "-m", "curate", "run", "recipes/quickstart.yaml", "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_quickstart_on_a_two_node_cluster(tmp_path):
    """A head and a worker (`ray start`, one CPU each, token authentication on), the quick start with
    `RAY_ADDRESS=... curate run ... --engine ray` from the head's machine: the local engine's bytes, work on both
    nodes; a driver without the token, or with a wrong one, gets one message; every process started is stopped."""
    pytest.importorskip("ray")
    from tests.local_ray import local_cluster

    plain = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    local = curate_run(tmp_path / "local", plain)
    assert local.returncode == 0, local.stderr
    with local_cluster(cpus=(1, 1)) as cluster:
        status = cluster.status()
        assert status.count("\n 1 node_") == 2 and " 0.0/2.0 CPU\n" in status, status
        nodes = cluster.node_ids()
        env = {**cluster.env, "RAY_ADDRESS": cluster.address}
        done = curate_run(tmp_path / "ray", env, "--engine", "ray")
        assert done.returncode == 0, done.stderr
        token = f"with the token from {cluster.env['RAY_AUTH_TOKEN_PATH']} (RAY_AUTH_TOKEN_PATH) (RAY_AUTH_MODE=token)"
        assert f"ray: connecting to {cluster.address} (RAY_ADDRESS) {token}\nray: 2 nodes, 2 CPUs\n" in done.stderr
        assert set(cluster.step_tasks()) == nodes  # both nodes ran steps

        refused = f"the Ray cluster at {cluster.address} (RAY_ADDRESS) refused the connection, which curate tried"
        without_mode = {k: v for k, v in env.items() if k != "RAY_AUTH_MODE"}
        no_token = curate_run(tmp_path / "no-token", without_mode, "--engine", "ray")
        wrong = curate_run(tmp_path / "wrong", {**env, "RAY_AUTH_TOKEN": "not-the-token"}, "--engine", "ray")
        assert cluster.stop() == []  # no process of either node's tree is left
    assert [no_token.returncode, wrong.returncode] == [2, 2]
    assert no_token.stderr.splitlines()[1:] == [
        f"ray: connecting to {cluster.address} (RAY_ADDRESS) {NO_TOKEN}",
        f"error: {refused} {NO_TOKEN}. {WANTS_TOKEN}",
    ]
    assert wrong.stderr.splitlines()[1:] == [
        f"ray: connecting to {cluster.address} (RAY_ADDRESS) with the token from RAY_AUTH_TOKEN (RAY_AUTH_MODE=token)",
        f"error: {refused} with the token from RAY_AUTH_TOKEN (RAY_AUTH_MODE=token). That is not the token the head "
        f"was started with: `ray get-auth-token` on the head prints the right one; {DOCS}",
    ]
    assert digest(tmp_path / "ray") == digest(tmp_path / "local") and len(digest(tmp_path / "local")) > 3
    assert [node.process.returncode is not None for node in cluster.nodes] == [True, True]
