"""A throw-away PostgreSQL server on 127.0.0.1 for the multi-worker test (Debian's
``postgresql`` package). The server refuses to run as root, so as root every server command
runs as the package's ``postgres`` user (``runuser``) on a data directory it owns; stopped and
deleted afterwards."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


def server_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres(database: str = "vortex"):
    """Yield an SQLAlchemy URL ``postgresql+psycopg2://postgres@127.0.0.1:<port>/<database>``."""
    bindir = server_bin()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    data = Path(tempfile.mkdtemp(prefix="vortex-pg-"))
    if as_root:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()

    def run(*cmd):
        subprocess.run([*prefix, *map(str, cmd)], check=True, capture_output=True, timeout=120)

    try:
        run(bindir / "initdb", "-D", data / "db", "-U", "postgres", "-A", "trust", "--no-sync")
        opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(bindir / "pg_ctl", "-D", data / "db", "-o", opts, "-l", data / "log", "-w", "start")
        try:
            run(bindir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", database)
            yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{database}"
        finally:
            run(bindir / "pg_ctl", "-D", data / "db", "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(data, ignore_errors=True)
