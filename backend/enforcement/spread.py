"""Each serving process takes its share of the read streams and refuses the rest (see platepatrol/streams.py).

The processes of one office count their read streams in one shared array: a process takes a new stream while it
holds no more than its share of them all, the new one counted (the share rounded up), so some process always can.
"""

from __future__ import annotations

import math
from multiprocessing.sharedctypes import SynchronizedArray

from platepatrol.streams import MAX_REFUSALS


class StreamSpread:
    """This process's slot (`index`) in the office's shared count of read streams per process."""

    def __init__(self, counts: SynchronizedArray[int], index: int) -> None:
        if not 0 <= index < len(counts):
            raise ValueError(f"process {index} has no slot among {len(counts)}")
        self._counts = counts
        self._index = index

    def admit(self, refusals: int) -> bool:
        """Count one more stream here if this process does not hold more than its share then, or if the car was
        refused `MAX_REFUSALS` times already; False: refuse it."""
        with self._counts.get_lock():
            held = self._counts[:]
            share = math.ceil((sum(held) + 1) / len(held))
            if held[self._index] + 1 > share and refusals < MAX_REFUSALS:
                return False
            self._counts[self._index] = held[self._index] + 1
            return True

    def release(self) -> None:
        """A stream taken here ended."""
        with self._counts.get_lock():
            self._counts[self._index] -= 1

    @property
    def held(self) -> list[int]:
        """The streams each process holds now."""
        with self._counts.get_lock():
            return self._counts[:]
