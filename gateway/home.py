"""The gateway's folder for state kept on this machine: ``.q2c/`` in the working
directory, or ``$Q2C_HOME``. The embedded default keeps its generated secrets here."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
import time
from pathlib import Path

HOME_ENV = "Q2C_HOME"

log = logging.getLogger("q2c.home")


def q2c_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or ".q2c")


def local_secret(name: str, size: int = 32) -> bytes:
    """A random secret generated once into ``q2c_home()/name`` (mode 0600) and read
    back by every later start and every process on this machine.

    Several processes starting at once agree: the file is written under a temporary
    name and linked into place, which fails for all but the first.
    """
    home = q2c_home()
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = home / name
    if not path.exists():
        temporary = home / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(secrets.token_bytes(size))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s is readable by other users; chmod 600 it", path)
    for _ in range(50):
        value = path.read_bytes()
        if len(value) >= size:
            return value
        time.sleep(0.01)  # pragma: no cover - a file written by hand, being written
    raise SystemExit(f"{path}: holds fewer than {size} bytes; delete it to generate a new one")
