"""The receive side's floor: what a datagram costs a process that does nothing with it.

A worker process on uvloop (the server's loop) binds one UDP socket per publisher on
127.0.0.1, each with a DatagramProtocol that only counts; a sender process sends them
datagrams of the receive path's sizes, paced at its rate. The worker's CPU per datagram is
what the kernel, the wake-up and uvloop's callback cost on this machine before any RTP is
handled: the floor under the receive path's figure (``bench_media.receive_cost``), as
``floor_us`` (SRTP protect plus one ``sendto``) is the floor under the forwarding function's.
The two processes are pinned to separate cores, as the receive-path runs are.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import socket
import time
from typing import Any

from .media_worker import cpu_seconds


def _receiver(conn: Any, sockets: int, core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})
    import uvloop

    async def run() -> None:
        loop = asyncio.get_running_loop()
        count = [0]

        class Counter(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                count[0] += 1

        ports = []
        for _ in range(sockets):
            transport, _ = await loop.create_datagram_endpoint(
                Counter, local_addr=("127.0.0.1", 0))
            ports.append(transport.get_extra_info("sockname")[1])
        conn.send(ports)
        while True:  # answer "count?" until told to stop
            msg = await loop.run_in_executor(None, conn.recv)
            if msg == "stop":
                return
            conn.send(count[0])

    uvloop.run(run())


def _sender(ports: list[int], sizes: list[int], rate: float, seconds: float,
            core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))  # loopback only, both ends
    payloads = [bytes([0x80]) + os.urandom(max(size - 1, 0)) for size in sizes]
    period = 1.0 / rate
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        sock.sendto(payloads[n % len(payloads)], ("127.0.0.1", ports[n % len(ports)]))
        n += 1
        wait = t0 + n * period - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def receive_floor(rate: float, sizes: list[int], sockets: int, seconds: float) -> dict[str, Any]:
    """CPU (cores) and µs per datagram of a receiver that does nothing, at ``rate``/s."""
    ctx = mp.get_context("spawn")
    cores = sorted(os.sched_getaffinity(0))
    pin = len(cores) > 1
    parent, child = ctx.Pipe()
    recv = ctx.Process(target=_receiver, args=(child, sockets, cores[-1] if pin else None),
                       daemon=True)
    recv.start()
    ports = parent.recv()
    send = ctx.Process(target=_sender, args=(ports, sizes, rate, seconds + 3.0,
                                             cores[0] if pin else None), daemon=True)
    send.start()
    time.sleep(1.5)  # warm up
    parent.send("count?")
    n0, c0, t0 = parent.recv(), cpu_seconds(recv.pid), time.monotonic()
    time.sleep(seconds)
    parent.send("count?")
    n1, c1, t1 = parent.recv(), cpu_seconds(recv.pid), time.monotonic()
    parent.send("stop")
    send.join()
    recv.join(5)
    per_s = (n1 - n0) / (t1 - t0)
    cpu = (c1 - c0) / (t1 - t0)
    return {"receive_floor_cpu": round(cpu, 4), "receive_floor_datagrams_per_s": round(per_s, 1),
            "receive_floor_us_per_datagram": round(cpu / per_s * 1e6, 1) if per_s else None}
