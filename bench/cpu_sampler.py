"""The gateway app with a CPU-time stack sampler, for bench/run.py's profile step.

Why not only py-spy: py-spy samples wall-clock time of runnable threads. On a
shared, oversubscribed machine a thread that is preempted is still "runnable",
and preemption clusters right after a socket write wakes the peer (the upstream
or Redis), so py-spy over-reports ``transport.write`` and friends. This sampler
uses ``ITIMER_PROF`` instead: the kernel only advances it while the process
consumes CPU, so samples are spread in proportion to CPU time.

Run as ``python bench/cpu_sampler.py --host H --port P`` with ``Q2C_CONFIG``
set: it serves ``gateway.asgi:create`` through granian exactly as ``q2c serve``
does (one worker, no access log). In the worker, SIGUSR1 starts sampling and
SIGUSR2 stops it and writes collapsed stacks (``frame;frame;... count``, the
format of ``py-spy record --format raw``) to ``$BENCH_PROFILE_OUT``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections import Counter
from types import FrameType
from typing import Any

# Of process CPU time. The kernel checks CPU timers once per tick (CONFIG_HZ, 250 on
# this kernel), so shorter intervals would still fire only every 4 ms.
INTERVAL_SECONDS = 0.004

_samples: Counter[str] = Counter()
_names: dict[Any, str] = {}
_ROOTS = tuple(sorted({p.rstrip("/") + "/" for p in sys.path if p}, key=len, reverse=True))


def _name(frame: FrameType) -> str:
    code = frame.f_code
    name = _names.get(code)
    if name is None:
        filename = code.co_filename
        for root in _ROOTS:
            if filename.startswith(root):
                filename = filename[len(root) :]
                break
        name = _names[code] = f"{code.co_qualname} ({filename}:{code.co_firstlineno})"
    return name


def _on_tick(signum: int, frame: FrameType | None) -> None:
    if frame is None:
        return
    # The leaf keeps its current line: time in C calls (msgspec, socket sends)
    # is charged to the Python line that made them.
    names = [f"{_name(frame)} @{frame.f_lineno}"]
    frame = frame.f_back
    while frame is not None:
        names.append(_name(frame))
        frame = frame.f_back
    _samples[";".join(reversed(names))] += 1


def _start(signum: int, frame: FrameType | None) -> None:
    _samples.clear()
    signal.signal(signal.SIGPROF, _on_tick)
    signal.setitimer(signal.ITIMER_PROF, INTERVAL_SECONDS, INTERVAL_SECONDS)


def _stop(signum: int, frame: FrameType | None) -> None:
    signal.setitimer(signal.ITIMER_PROF, 0, 0)
    out = os.environ.get("BENCH_PROFILE_OUT")
    if out:
        with open(out + ".tmp", "w", encoding="utf-8") as handle:
            for stack, count in _samples.most_common():
                handle.write(f"{stack} {count}\n")
        os.replace(out + ".tmp", out)


def create() -> Any:
    from gateway.asgi import create as create_gateway

    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
    return create_gateway()


def main() -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    Granian(
        "cpu_sampler:create",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=1,
        factory=True,
        log_level=LogLevels("warning"),
        log_access=False,
    ).serve()


if __name__ == "__main__":
    main()
