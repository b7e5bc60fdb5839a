"""Micro-batching: concurrent requests share one model call.

A bot sends one message per request; scoring each alone wastes the batch core. Requests put their
messages on a queue; a single worker takes whatever arrived within ``max_wait`` seconds (up to
``max_batch`` messages), scores them together in a thread (the event loop stays free) and hands each
request its verdicts. Under light load a request waits at most ``max_wait``; under heavy load batches
grow and throughput follows the batch core's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Job:
    items: Sequence[Any]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    def __init__(
        self,
        fn: Callable[[list[Any]], list[Any]],
        max_batch: int = 256,
        max_wait: float = 0.005,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.on_batch = on_batch  # told each batch's size (for /metrics)
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Finish what is queued (graceful shutdown), then stop."""
        if self._queue is not None:
            await self._queue.join()
        if self._task is not None:
            self._task.cancel()

    async def submit(self, items: Sequence[Any]) -> list[Any]:
        assert self._queue is not None, "batcher not started"
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(items, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self._queue.get()]
            size = len(jobs[0].items)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), timeout)
                except TimeoutError:
                    break
                jobs.append(job)
                size += len(job.items)
            items = [item for job in jobs for item in job.items]
            try:
                results = await asyncio.to_thread(self.fn, items)
            except Exception as exc:  # the model failed: every waiting request gets the error
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                    self._queue.task_done()
                continue
            if self.on_batch is not None:
                self.on_batch(len(items))
            start = 0
            for job in jobs:
                if not job.future.done():
                    job.future.set_result(results[start : start + len(job.items)])
                start += len(job.items)
                self._queue.task_done()
