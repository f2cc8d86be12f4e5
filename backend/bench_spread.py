"""How the cars' streams spread over the serving processes, read from Linux's /proc.

Several serving processes share one port (SO_REUSEPORT) and the kernel hands each new connection to one of them by
a hash of its addresses: with 4 cars and 2 processes, the split is 2 + 2 only 6 times in 16. A process holding 3
cars is bound by its own Python thread while the other idles, so `bench backend` reports the split beside the rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

_ESTABLISHED, _LISTENING = "01", "0A"  # the state column of /proc/net/tcp


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (none where there is no /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def streams_per_process(pids: Sequence[int], port: int) -> list[int] | None:
    """For each of the processes that listen on `port`, the established connections it holds there: the cars it
    serves (one connection each). None where /proc cannot tell (not Linux)."""
    listening, established = _sockets_on(port, _LISTENING), _sockets_on(port, _ESTABLISHED)
    if listening is None or established is None:
        return None
    held = [_socket_inodes(pid) for pid in pids]
    return [len(inodes & established) for inodes in held if inodes & listening]


def _sockets_on(port: int, state: str) -> set[str] | None:
    """The inodes of the TCP sockets in `state` whose local port is `port`."""
    tables = [table for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")) if table.exists()]
    if not tables:
        return None
    found: set[str] = set()
    for table in tables:
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                found.add(fields[9])
    return found


def _socket_inodes(pid: int) -> set[str]:
    found: set[str] = set()
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return found  # gone, or not ours to see
    for descriptor in descriptors:
        try:
            target = str(descriptor.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found
