"""Awaiting many Cassandra queries from an event loop, with the DataStax driver.

The driver runs its I/O on a thread of its own and reports through callbacks; its
``execute_concurrent_async`` still blocks the caller until every answer is in. This module
bridges the callbacks to one asyncio future, so a coroutine can await a batch of queries.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from cassandra.cluster import Session


async def execute_all_async(
    session: Session, statements: list[tuple[Any, tuple[Any, ...]]], *, concurrency: int,
    execution_profile: Any,
) -> list[list[Any]]:
    """Run ``(statement, parameters)`` pairs on the driver, at most ``concurrency`` at a time,
    and await all their rows (every page), in order; the first error raises.

    The driver answers on its own I/O thread; the callbacks there start the next query and
    wake the event loop once, when the last answer is in. (The driver's
    ``execute_concurrent_async`` blocks until every answer is in, so it cannot be awaited.)
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[list[Any]]] = loop.create_future()
    results: list[list[Any]] = [[] for _ in statements]
    lock = threading.Lock()
    state = {"next": 0, "left": len(statements), "failed": False}

    def settle(error: BaseException | None) -> None:
        if not done.done():
            if error is None:
                done.set_result(results)
            else:
                done.set_exception(error)

    def finish(error: BaseException | None) -> None:
        with lock:
            if state["failed"]:
                return
            if error is not None:
                state["failed"] = True
            else:
                state["left"] -= 1
            last = error is not None or state["left"] == 0
            start = None if last or state["next"] >= len(statements) else state["next"]
            if start is not None:
                state["next"] += 1
        if last:
            try:
                loop.call_soon_threadsafe(settle, error)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass
        elif start is not None:
            send(start)

    def send(i: int) -> None:
        statement, parameters = statements[i]
        try:
            future = session.execute_async(statement, parameters,
                                           execution_profile=execution_profile)
        except Exception as exc:  # e.g. NoHostAvailable raised before sending
            finish(exc)
            return

        def on_page(rows: list[Any]) -> None:
            results[i].extend(rows)
            if future.has_more_pages:
                future.start_fetching_next_page()
            else:
                finish(None)

        future.add_callbacks(on_page, finish)

    first = state["next"] = min(concurrency, len(statements))  # set before any callback runs
    for i in range(first):
        send(i)
    return await done
