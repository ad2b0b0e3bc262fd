"""The cleanup's AWS calls: throttling retried (bounded), ``NextToken`` pages, a few calls in parallel."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from iatk._aws import error_code, is_throttled

log = logging.getLogger("iatk.cleanup")

RETRY_ATTEMPTS = 5
RETRY_BASE = 0.2  # seconds; doubled per attempt, capped, with jitter
RETRY_CAP = 5.0
MAX_WORKERS = 8  # concurrent AWS calls per phase: fast on hundreds of leftovers, gentle on rate limits

T = TypeVar("T")
R = TypeVar("R")


def retrying(call: Callable[..., T], /, **kwargs: Any) -> T:
    """``call(**kwargs)``, retrying throttling errors a bounded number of times (capped backoff, jitter)."""
    delay = RETRY_BASE
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        try:
            return call(**kwargs)
        except Exception as err:
            if not is_throttled(err) or attempt == RETRY_ATTEMPTS:
                raise
            log.debug("throttled (%s), attempt %d; retrying in %.2f s", error_code(err), attempt, delay)
            time.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, RETRY_CAP)
    raise AssertionError("unreachable")  # pragma: no cover


def pages(call: Callable[..., Any], /, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of a ``NextToken`` listing, each request retried on throttling (as :func:`retrying`).

    botocore's paginators would retry only by its own retry mode; a listing throttled past that
    must be retried here too, or a cleanup of many buses fails half way through its discovery.
    """
    token: str | None = None
    seen: set[str] = set()
    while True:
        page: dict[str, Any] = dict(retrying(call, **kwargs, **({"NextToken": token} if token else {})))
        yield page
        token = page.get("NextToken")
        if not token or token in seen:  # a token served twice would loop forever
            return
        seen.add(token)


def parallel(fn: Callable[[T], R], items: Collection[T]) -> Iterator[tuple[T, R | BaseException]]:
    """Yield ``(item, result or exception)`` as each call finishes (a few threads; clients are thread-safe)."""
    if len(items) <= 1:
        for item in items:
            try:
                yield item, fn(item)
            except Exception as err:
                yield item, err
        return
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(items)), thread_name_prefix="iatk-cleanup") as pool:
        futures = {pool.submit(fn, item): item for item in items}
        for future in as_completed(futures):
            error = future.exception()
            yield futures[future], (error if error is not None else future.result())


def bus_name(bus: str) -> str:
    """``arn:…:event-bus/orders`` → ``orders``; a plain name is returned as is."""
    return bus.rsplit("event-bus/", 1)[1] if "event-bus/" in bus else bus


def raise_first(results: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Collect parallel results; a listing that failed is raised (a partial listing would mislead)."""
    collected = list(results)
    for _, result in collected:
        if isinstance(result, BaseException):
            raise result
    return collected
