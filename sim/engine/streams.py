"""Stream assignment: which in-order stream of its device an op is queued on.

Each device instance has ``streams`` in-order queues (CUDA streams, CPU core groups). An op runs when
it reaches the head of its stream and its inputs are ready, so ops on different streams of a device
overlap when independent. The policy (deterministic):

1. a stream named by the placement (a rule's ``stream:``) wins (taken modulo the stream count);
2. otherwise the op joins the stream of its first producer on the same device (dependency chains stay
   in order on one stream);
3. otherwise (no local producer) streams are used round robin.

Streams run at the device's full speed each: overlapping ops do not slow each other down (an optimistic
bound on overlap; the device's utilisation counts time when any stream is busy).
"""

from __future__ import annotations


class StreamAssigner:
    """Chooses a stream index for each op of one system."""

    def __init__(self, streams: dict[str, int]) -> None:
        self.streams = streams
        self._rr: dict[str, int] = dict.fromkeys(streams, 0)
        self.op_stream: dict[int, tuple[str, int]] = {}

    def assign(self, op_id: int, device: str, deps: tuple[int, ...], requested: int | None) -> int:
        """The stream of ``op_id`` on ``device``."""
        n = self.streams[device]
        if n == 1:
            s = 0
        elif requested is not None:
            s = requested % n
        else:
            s = -1
            for d in deps:
                where = self.op_stream.get(d)
                if where is not None and where[0] == device:
                    s = where[1]
                    break
            if s < 0:
                s = self._rr[device] % n
                self._rr[device] += 1
        self.op_stream[op_id] = (device, s)
        return s

    def forget_before(self, op_id: int) -> None:
        """Drop ops older than ``op_id`` except the last one per device stream (bounded memory)."""
        keep = {}
        for k, v in self.op_stream.items():
            if k >= op_id:
                keep[k] = v
        self.op_stream = keep
