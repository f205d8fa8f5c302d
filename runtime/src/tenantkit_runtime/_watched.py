"""A chat stream passed through to its caller and watched: the one wrapper the
runtime's LLM metrics and usage metering share."""

from __future__ import annotations

from typing import Any, Self

from tenantkit.llm import ChatResponse, ChatStream, StreamEvent

__all__ = ["WatchedStream"]


class WatchedStream:
    """A :class:`~tenantkit.llm.ChatStream` that tells its subclass each event
    (:meth:`_seen`) and, once, that the stream is over (:meth:`_over`): with its
    response when it ran to its end or its response was read, with the error when it
    failed, with neither when the caller closed it early."""

    def __init__(self, stream: ChatStream) -> None:
        self._stream = stream
        self._settled = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __iter__(self) -> Self:
        return self

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __next__(self) -> StreamEvent:
        try:
            event = next(self._stream)
        except StopIteration:
            self._settle(self._stream.response, None)
            raise
        except Exception as exc:
            self._settle(None, exc)
            raise
        self._seen(event)
        return event

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._settle(None, None)

    @property
    def text(self) -> str:
        return self._stream.text

    @property
    def response(self) -> ChatResponse:
        response = self._stream.response
        self._settle(response, None)
        return response

    def _settle(self, response: ChatResponse | None, error: Exception | None) -> None:
        if self._settled:
            return
        self._settled = True
        self._over(response, error)

    def _seen(self, event: StreamEvent) -> None:
        """One event on its way to the caller."""

    def _over(self, response: ChatResponse | None, error: Exception | None) -> None:
        raise NotImplementedError
