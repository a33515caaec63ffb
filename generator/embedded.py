"""A local PostgreSQL cluster that docpal starts itself.

Used by ``docpal demo`` when no DATABASE_URL is given, by the test suite and
by the benchmarks. initdb and pg_ctl refuse to run as root, so as root every
server command runs as the ``postgres`` OS user (``runuser -u postgres``),
and the data folder is owned by that user. The server listens on 127.0.0.1
only, with trust authentication for the ``postgres`` superuser.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"


def pg_bindir() -> Path:
    """Folder of initdb/pg_ctl: $DOCPAL_PG_BINDIR, else the newest Debian install."""
    env = os.environ.get("DOCPAL_PG_BINDIR")
    if env:
        return Path(env)
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found; set DOCPAL_PG_BINDIR")


def as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *cmd]
    return cmd


def _server_user_can_write(path: Path) -> bool:
    if os.geteuid() != 0:
        return os.access(path, os.W_OK | os.X_OK)
    return subprocess.run(as_server_user(["test", "-w", str(path), "-a", "-x", str(path)])).returncode == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def default_datadir(project_root: Path) -> Path:
    """``<project>/.docpal/pgdata``, or, when the server user cannot reach the
    project folder (root's private folders), a folder under /var/tmp named
    after the project path."""
    local = project_root / ".docpal"
    local.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(local, SERVER_USER)
    if _server_user_can_write(local):
        return local / "pgdata"
    digest = hashlib.sha256(str(project_root.resolve()).encode()).hexdigest()[:12]
    fallback = Path("/var/tmp") / f"docpal-{digest}"
    fallback.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(fallback, SERVER_USER)
    return fallback / "pgdata"


@dataclass
class Cluster:
    datadir: Path
    port: int | None = None
    host: str = "127.0.0.1"
    user: str = SERVER_USER
    fast: bool = False  # fsync off etc.: for tests and benchmarks only

    @property
    def _port_file(self) -> Path:
        return self.datadir / "docpal.port"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(as_server_user([str(pg_bindir() / args[0]), *args[1:]]),
                                capture_output=True, text=True)
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def initialized(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        self.datadir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.datadir, SERVER_USER)
        if not _server_user_can_write(self.datadir):
            raise RuntimeError(f"the {SERVER_USER} OS user cannot reach {self.datadir} (a parent folder "
                               "is private to its owner); choose a data folder it can reach")
        self._run("initdb", "-D", str(self.datadir), "-U", self.user, "--auth=trust",
                  "-E", "UTF8", "--locale=C.UTF-8")
        self.port = self.port or _free_port()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": "''",
            "max_connections": "200",
            "shared_buffers": "'256MB'",
        }
        if self.fast:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        conf = "".join(f"{k} = {v}\n" for k, v in settings.items())
        subprocess.run(as_server_user(["sh", "-c", f"cat >> '{self.datadir}/postgresql.conf'"]),
                       input=conf, text=True, check=True)
        subprocess.run(as_server_user(["sh", "-c", f"cat > '{self._port_file}'"]),
                       input=str(self.port), text=True, check=True)

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.datadir), "status", check=False).returncode == 0

    def start(self) -> "Cluster":
        """Initialise (once) and start the cluster; a running one is reused."""
        if not self.initialized():
            self.init()
        self.port = int(self._port_file.read_text().strip())
        if not self.running():
            result = self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.datadir / "server.log"),
                               "-w", "-t", "60", "start", check=False)
            if result.returncode != 0:
                log = (self.datadir / "server.log")
                tail = log.read_text()[-2000:] if log.exists() else ""
                raise RuntimeError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}{tail}")
        return self

    def stop(self) -> None:
        if self.initialized() and self.running():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop", check=False)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, dbname: str) -> str:
        """Create dbname unless it exists; returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
        return self.url(dbname)
