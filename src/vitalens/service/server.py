"""Running the app under uvicorn with every connection bounded in time.

uvicorn closes an idle keep-alive connection, but waits for ever for a new connection's first request
line and headers, so 2,000 half-open connections would be held for good. HeaderDeadlineH11 starts the
same timer when a connection opens and keeps it running until a whole request head has arrived; the
body then has its own deadline (limits.BodySizeLimit)."""

from __future__ import annotations

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from vitalens.service.limits import ServiceLimits


class HeaderDeadlineH11(H11Protocol):
    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        # uvicorn cancels the timer on the first byte; keep it until handle_events sees a complete request
        self.conn.receive_data(data)
        self.handle_events()

    def _arm(self) -> None:
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)


def serve(app, host: str, port: int, limits: ServiceLimits) -> None:
    uvicorn.run(app, host=host, port=port, log_level="warning", http=HeaderDeadlineH11,
                timeout_keep_alive=int(limits.keep_alive_timeout_s), limit_concurrency=limits.max_connections)  # fmt: skip
