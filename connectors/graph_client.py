"""Microsoft Graph over HTTPS, with app-only tokens from msal.

One ``GraphClient`` per connector: it owns the injected ``requests.Session``,
used for Graph *and* handed to msal (``connectors.graph_auth``), so TLS
settings apply to both. A 401 from Graph drops the cached token and tries
once more with a new one.

Waiting is bounded (see ``EntraSettings.max_inline_wait``): idempotent GETs
are retried a few times with short pauses, and throttled ``$batch`` items are
sent again; a longer ``Retry-After`` is raised as ``Throttled`` so the queue
schedules the retry. Tokens and request bodies are never logged.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.base import PermanentError, RetryableError
from connectors.entra_settings import EntraSettings
from connectors.graph_auth import AppTokens, transport_error
from connectors.graph_errors import (
    THROTTLED_STATUSES,
    error_for_response,
    retry_after,
)

log = logging.getLogger(__name__)

MAX_BATCH = 20  # Graph's limit of requests in one $batch
_BACKOFF_SECONDS = 0.2


@dataclass(frozen=True)
class BatchRequest:
    """One request inside a ``$batch``; ``url`` is relative to the version
    root (``/users/{id}``)."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class BatchResponse:
    """Graph's answer to one ``BatchRequest``."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class GraphClient:
    """Authenticated Graph calls with errors from ``connectors.base``."""

    def __init__(
        self,
        settings: EntraSettings,
        session: requests.Session,
        *,
        token_cache: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._session = session
        self.tokens = AppTokens(settings, session, token_cache)
        self._sleep = sleep
        self._rng = random.Random()  # noqa: S311 - jitter only
        origin = urlsplit(settings.graph_base)
        self._origin = (origin.scheme, origin.netloc.lower())

    def call(
        self,
        method: str,
        url: str,
        *,
        action: str,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """One request, no retry; the JSON body (None when there is none)."""
        response = self._send(method, url, params, body, action)
        payload = _json(response)
        if response.status_code >= 400:
            raise error_for_response(
                response.status_code,
                response.headers,
                payload,
                action=action,
                system=self.settings.system_id,
            )
        return payload

    def get(
        self, url: str, *, action: str, params: Mapping[str, str] | None = None
    ) -> Any:
        """A GET, retried a few times on transient errors and short throttling."""
        return self._retrying(
            lambda: self.call("GET", url, action=action, params=params), action
        )

    def pages(
        self, url: str, *, action: str, params: Mapping[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Each page's body, following ``@odata.nextLink`` to the end."""
        page = self.get(url, action=action, params=params)
        while True:
            yield page
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return
            page = self.get(str(next_link), action=action)

    def batch(
        self,
        requests_: Sequence[BatchRequest],
        *,
        action: str,
        reads_only: bool = False,
    ) -> list[BatchResponse]:
        """Run ``requests_`` in ``$batch`` calls of at most 20, answers in the
        same order. Throttled items are sent again after their
        ``Retry-After`` when it is short; otherwise their 429 is returned.
        ``reads_only`` (idempotent GETs): transient failures are retried too,
        of the whole call and of single items."""
        results: list[BatchResponse] = [BatchResponse(0)] * len(requests_)
        pending = list(range(len(requests_)))
        for round_ in range(self.settings.batch_rounds):
            for start in range(0, len(pending), MAX_BATCH):
                chunk = pending[start : start + MAX_BATCH]
                answers = self._post_batch(
                    [requests_[i] for i in chunk], action, reads_only
                )
                for index, answer in zip(chunk, answers, strict=True):
                    results[index] = answer
            pending = [i for i in pending if _again(results[i].status, reads_only)]
            if not pending or round_ == self.settings.batch_rounds - 1:
                break
            waits = [retry_after(results[i].headers) for i in pending]
            known = [w for w in waits if w is not None]
            delay = self._inline_delay(max(known) if known else None, round_)
            if delay is None:
                break
            log.info("%s: %d batch items to send again", action, len(pending))
            self._sleep(delay)
        return results

    def close(self) -> None:
        self._session.close()

    # -- helpers ------------------------------------------------------------

    def _retrying(self, request: Callable[[], Any], action: str) -> Any:
        attempts = self.settings.get_retries + 1
        for attempt in range(attempts):
            try:
                return request()
            except RetryableError as exc:
                delay = self._inline_delay(exc.retry_after, attempt)
                if delay is None or attempt == attempts - 1:
                    raise
                log.info("%s: %s; retrying in %.2fs", action, exc.message, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _post_batch(
        self, chunk: Sequence[BatchRequest], action: str, reads_only: bool
    ) -> list[BatchResponse]:
        items = []
        for n, request in enumerate(chunk):
            item: dict[str, Any] = {
                "id": str(n),
                "method": request.method,
                "url": request.url,
            }
            if request.body is not None:
                item["body"] = dict(request.body)
                item["headers"] = {"Content-Type": "application/json"}
            items.append(item)

        def post() -> Any:
            return self.call(
                "POST", "/$batch", action=f"{action} ($batch)", body={"requests": items}
            )

        payload = self._retrying(post, action) if reads_only else post()
        by_id = {
            str(r.get("id")): r
            for r in (payload or {}).get("responses", [])
            if isinstance(r, dict)
        }
        answers = []
        for n in range(len(chunk)):
            raw = by_id.get(str(n))
            if raw is None:  # Graph dropped it: treat as a transient failure
                answers.append(BatchResponse(500, {}, None))
                continue
            answers.append(
                BatchResponse(
                    int(raw.get("status", 500)),
                    {str(k): str(v) for k, v in (raw.get("headers") or {}).items()},
                    raw.get("body"),
                )
            )
        return answers

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        action: str,
    ) -> requests.Response:
        target = self._url(url, action)
        for attempt in (1, 2):
            headers = {
                "Authorization": f"Bearer {self.tokens.token()}",
                "Accept": "application/json",
            }
            try:
                response = self._session.request(
                    method,
                    target,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=self.settings.timeout,
                )
            except requests.RequestException as exc:
                raise transport_error(action, exc, self.settings.system_id) from None
            log.debug("%s: %s %s -> %s", action, method, url, response.status_code)
            if response.status_code != 401 or attempt == 2:
                return response
            # The token was revoked or expired early: get a new one, once.
            self.tokens.forget()
        raise AssertionError("unreachable")  # pragma: no cover

    def _url(self, url: str, action: str) -> str:
        if not url.startswith("https://"):
            return self.settings.graph_base + url
        parts = urlsplit(url)
        # Links from Graph (nextLink, deltaLink) carry our token: follow them
        # only to Graph itself.
        if (parts.scheme, parts.netloc.lower()) != self._origin:
            raise PermanentError(
                f"{action}: refusing to follow a link to another host ({parts.netloc})",
                system=self.settings.system_id,
            )
        return url

    def _inline_delay(self, asked: float | None, attempt: int) -> float | None:
        """How long to wait before trying again here, or None: leave it to
        the queue."""
        if asked is not None:
            return asked if asked <= self.settings.max_inline_wait else None
        ceiling = _BACKOFF_SECONDS * (2**attempt)
        return float(ceiling / 2 + self._rng.uniform(0, ceiling / 2))


def _again(status: int, reads_only: bool) -> bool:
    """Whether a batch item is worth sending again."""
    return status in THROTTLED_STATUSES or (reads_only and status >= 500)


def _json(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
