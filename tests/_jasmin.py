"""A real Jasmin SMS Gateway on loopback, for the HTTP transport's live tests.

Jasmin 0.11.0 runs from its own virtualenv (``.jasmin`` at the repository root,
or ``ISOBIL_JASMIN_VENV``; see tests/jasmin/requirements.txt) and needs RabbitMQ
on 127.0.0.1:5672 (guest/guest), which .ci/run starts, and ``redis-server``.
:class:`Jasmin` writes a configuration with free loopback ports into a
directory of the test's, starts a Redis of its own and ``jasmind`` with its DLR
lookup and DLR thrower in the same process, and is then set up through jCli,
its telnet console, as an operator would.

Nothing is shared with an earlier run: Jasmin keeps its receipt lookups in Redis
by the SMSC's message id, which a simulated SMSC hands out again from 1 on every
run (a lookup could find the last run's message), hence the private Redis; and
each gateway gets a RabbitMQ virtual host of its own when ``rabbitmqctl`` may
create one, so nothing queued by an earlier run can reach it.

When the virtualenv or a service is missing the tests skip, saying what to do;
tests/conftest.py turns that skip into a failure under CI=true.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Final, Self

import pytest

ROOT: Final = Path(__file__).resolve().parents[1]
VENV: Final = Path(os.environ.get("ISOBIL_JASMIN_VENV", ROOT / ".jasmin"))
INSTALL: Final = (
    "python3 -m venv .jasmin && .jasmin/bin/pip install -r tests/jasmin/requirements.txt"
)
RABBITMQ: Final = ("127.0.0.1", 5672)
STARTUP_TIMEOUT: Final = 30.0
JCLI_TIMEOUT: Final = 15.0

# jasmind's own __main__ takes a machine-wide lock (/tmp/jasmind) that a killed
# run leaves behind; this starts the same daemon without it. Each gateway has
# ports of its own, which is what the lock protects.
_LAUNCHER: Final = """
import signal, sys
from twisted.internet import reactor
from jasmin.bin.jasmind import JasminDaemon, Options
options = Options()
options.parseOptions(sys.argv[1:])
daemon = JasminDaemon(options)
signal.signal(signal.SIGTERM, daemon.sighandler_stop)
signal.signal(signal.SIGINT, daemon.sighandler_stop)
daemon.start()
reactor.run()
"""

_SERVICES: Final = (
    "router", "client-management", "smpp-server", "smpp-server-pb", "http-api", "jcli", "redis"
)  # fmt: skip
_TELNET: Final = re.compile(rb"\xff[\xfb-\xfe].|\xff[^\xfb-\xfe]", re.DOTALL)


class JasminFailed(RuntimeError):
    """Jasmin did not start, or refused a jCli command; says why, with its log's tail."""


def listening(address: tuple[str, int]) -> bool:
    """Whether something accepts TCP connections at ``address``."""
    try:
        with socket.create_connection(address, timeout=1.0):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Jasmin:
    """One ``jasmind`` on loopback, with its configuration and logs under ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.ports = {service: _free_port() for service in _SERVICES}
        self.vhost = "/"
        self._proc: subprocess.Popen[bytes] | None = None
        self._redis: subprocess.Popen[bytes] | None = None

    @property
    def http_url(self) -> str:
        """The base URL of Jasmin's HTTP API (``/send`` lives under it)."""
        return f"http://127.0.0.1:{self.ports['http-api']}"

    # -- lifetime ------------------------------------------------------------

    def start(self) -> None:
        """Start Redis and ``jasmind``; skip when Jasmin or what it needs is missing."""
        if not (VENV / "bin" / "jasmind.py").exists():
            pytest.skip(f"Jasmin is not installed in {VENV}; install it with: {INSTALL}")
        if not listening(RABBITMQ):
            host, port = RABBITMQ
            pytest.skip(f"RabbitMQ is not listening on {host}:{port} (.ci/run starts it)")
        redis = shutil.which("redis-server")
        if redis is None:
            pytest.skip("redis-server is not installed (Debian: apt install redis-server)")
        specs = sorted(VENV.glob("lib/python*/site-packages/txamqp/specs/standard/amqp0-9-1*.xml"))
        if not specs:
            raise JasminFailed(f"no AMQP 0-9-1 spec in txamqp under {VENV}; reinstall: {INSTALL}")
        self._redis = self._spawn(
            "redis",
            [redis, "--bind", "127.0.0.1", "--port", str(self.ports["redis"]),
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            "redis",
        )  # fmt: skip
        self.vhost = _new_vhost()
        config = self._write_config(specs[0])
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "ROOT_PATH": str(self.workdir),
            "LOG_PATH": str(self.workdir / "log"),
            "STORE_PATH": f"{self.workdir / 'store'}/",
        }  # a clean environment: Jasmin reads any SECTION_OPTION variable as configuration
        self._proc = self._spawn(
            "jasmind",
            [str(VENV / "bin" / "python"), "-c", _LAUNCHER, "-c", str(config),
             "--enable-dlr-lookup", "--enable-dlr-thrower"],
            env,
            "http-api",
            "jcli",
        )  # fmt: skip

    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str], *services: str
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` (output to ``<name>.out``); wait until ``services`` listen."""
        with (self.workdir / f"{name}.out").open("wb") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not all(listening(("127.0.0.1", self.ports[s])) for s in services):
            if proc.poll() is not None:
                raise JasminFailed(f"{name} exited with {proc.returncode}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                proc.kill()
                late = f"{name} did not listen within {STARTUP_TIMEOUT} s"
                raise JasminFailed(f"{late}\n{self.log_tail()}")
            time.sleep(0.1)  # polling a port that is not open yet; nothing to wait on
        return proc

    def close(self) -> None:
        """Stop ``jasmind`` and its Redis (SIGTERM, then SIGKILL); drop its virtual host."""
        for proc in (self._proc, self._redis):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._proc = self._redis = None
        if self.vhost != "/":
            _rabbitmqctl("delete_vhost", self.vhost)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines jasmind printed, and of its messages log."""
        tails = []
        names = ("redis.out", "jasmind.out", "log/messages.log")
        for path in (self.workdir / name for name in names):
            if path.exists():
                text = path.read_text("utf-8", "replace").splitlines()[-lines:]
                tails.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(tails)

    # -- configuration ---------------------------------------------------------

    def jcli(self) -> JCli:
        """A logged-in jCli session (close it when done)."""
        return JCli(("127.0.0.1", self.ports["jcli"]), self.log_tail)

    def route(self, smsc: tuple[str, int], *, mo_url: str, username: str, password: str) -> str:
        """Set Jasmin up as an operator would, through jCli; return the SMPP connector's id.

        A user allowed to send over the HTTP API; an SMPP client connector to the
        upstream ``smsc`` (host, port), started, with no throughput cap; every MT
        routed to it; every MO pushed by HTTP POST to ``mo_url``.
        """
        suffix = uuid.uuid4().hex[:8]  # ids of their own, in case the vhost is shared
        connector = f"up{suffix}"
        with self.jcli() as jcli:
            group = f"g{suffix}"
            jcli.add("group", gid=group)
            jcli.add("user", username=username, password=password, gid=group, uid=f"u{suffix}")
            jcli.add(
                "smppccm",
                cid=connector,
                host=smsc[0],
                port=smsc[1],
                username="jasmin",  # the simulated SMSC takes any credentials
                password="jasmin",  # noqa: S106
                submit_throughput=0,
            )
            started = jcli.run(f"smppccm -1 {connector}")
            if "Successfully started" not in started:
                raise JasminFailed(f"the SMPP connector did not start: {started.strip()}")
            jcli.add("httpccm", cid=f"mo{suffix}", url=mo_url, method="POST")
            jcli.add("mtrouter", type="DefaultRoute", connector=f"smppc({connector})", rate="0.00")
            jcli.add("morouter", type="DefaultRoute", connector=f"http(mo{suffix})")
        return connector

    def _write_config(self, amqp_spec: Path) -> Path:
        (self.workdir / "log").mkdir(exist_ok=True)
        sections = {
            "redis-client": {"host": "127.0.0.1", "port": self.ports["redis"]},
            "amqp-broker": {
                "host": RABBITMQ[0],
                "port": RABBITMQ[1],
                "vhost": self.vhost,
                "spec": amqp_spec,
            },
            **{s: {"bind": "127.0.0.1", "port": p} for s, p in self.ports.items() if s != "redis"},
            # Retries a second apart, not 10-30 s: a test waits for them.
            "dlr": {"dlr_lookup_retry_delay": 1, "dlr_lookup_max_retries": 5},
            "sm-listener": {"dlr_lookup_retry_delay": 1, "submit_retrial_delay_smppc_not_ready": 1},
            "dlr-thrower": {"retry_delay": 1, "http_timeout": 5},
            "deliversm-thrower": {"retry_delay": 1, "http_timeout": 5},
        }
        config = self.workdir / "jasmin.cfg"
        config.write_text(
            "".join(
                f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in options.items())
                for name, options in sections.items()
            ),
            "utf-8",
        )
        return config


class JCli:
    """A jCli session: lines typed as an operator types them, answers as text."""

    def __init__(self, address: tuple[str, int], log_tail: Callable[[], str] = str) -> None:
        self._log_tail = log_tail
        self._sock = socket.create_connection(address, timeout=JCLI_TIMEOUT)
        self._read("Authentication required.")
        self._send("jcliadmin", "Password:")
        self._send("jclipwd", "jcli :")

    def run(self, line: str) -> str:
        """Type ``line``; return what Jasmin printed up to its next prompt."""
        return self._send(line, "jcli :", ">")

    def add(self, what: str, **fields: object) -> str:
        """``<what> -a``, one ``key value`` line per field, then ``ok``; fail unless saved."""
        self.run(f"{what} -a")
        for key, value in fields.items():
            self.run(f"{key} {value}")
        answer = self.run("ok")
        if "Successfully" not in answer:
            self.run("ko")
            raise JasminFailed(f"jCli refused {what} {fields!r}: {answer.strip()}")
        return answer

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(b"quit\r\n")
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, line: str, *prompts: str) -> str:
        self._sock.sendall(line.encode("utf-8") + b"\r\n")
        return self._read(*prompts)

    def _read(self, *endings: str) -> str:
        buffer = b""
        while True:
            try:
                chunk = self._sock.recv(4096)
            except TimeoutError:
                chunk = b""
            if not chunk:
                raise JasminFailed(f"jCli stopped answering after {buffer!r}\n{self._log_tail()}")
            buffer += chunk
            text = _TELNET.sub(b"", buffer).decode("utf-8", "replace").replace("\r", "")
            if text.rstrip().endswith(endings):
                return text


def _rabbitmqctl(*args: str) -> bool:
    command = shutil.which("rabbitmqctl")
    if command is None:
        return False
    try:
        done = subprocess.run([command, "-q", *args], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _new_vhost() -> str:
    """A fresh RabbitMQ virtual host for guest, or "/" where rabbitmqctl may not make one."""
    name = f"isobil-test-{uuid.uuid4().hex[:12]}"
    if _rabbitmqctl("add_vhost", name):
        if _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*"):
            return name
        _rabbitmqctl("delete_vhost", name)
    print(f"jasmin: using RabbitMQ's vhost '/' ({name} could not be made)", file=sys.stderr)
    return "/"
