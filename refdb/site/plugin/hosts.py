"""Absolute URLs that no request can change: from ``plugins.refdb.base_url``, never the Host.

Datasette builds absolute URLs (pagination links, ``absolute_url``) from the request's Host
header, which any client sets; responses are cached for minutes, so one forged Host could
poison the canonical links and citations others receive. ``PinnedHost`` replaces the Host
header and scheme of every request with those of the configured public base URL, or, when
none is configured, with the address the server listens on (a loopback address in a
default ``refdb serve``), and says once that citations will carry that address. The
publication a citation names (``publication``) takes its base URL from here.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from refdb import cite


def public_base(settings: dict | None) -> str | None:
    """The configured public base URL without a trailing slash, or None."""
    base = ((settings or {}).get("base_url") or "").strip().rstrip("/")
    return base or None


def server_base(scope) -> str:
    """The address this server listens on, as the ASGI server reports it (not the client)."""
    host, port = scope.get("server") or ("127.0.0.1", 8001)
    host = f"[{host}]" if ":" in str(host) else host
    return f"http://{host}:{port}" if port else f"http://{host}"


_warned: set[str] = set()


class PinnedHost:
    """ASGI middleware: every request's Host and scheme are the public base URL's."""

    def __init__(self, app, base_url: str | None):
        self.app, self.base_url = app, base_url

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            base = self.base_url or server_base(scope)
            if not self.base_url and base not in _warned:
                _warned.add(base)
                print(
                    f"refdb: plugins.refdb.base_url is not set in datasette.yaml; "
                    f"citations and the sitemap use {base}",
                    file=sys.stderr,
                )
            parts = urlsplit(base)
            headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"host"]
            scope = {
                **scope,
                "scheme": parts.scheme or "http",
                "headers": [*headers, (b"host", parts.netloc.encode("latin-1"))],
            }
        await self.app(scope, receive, send)


async def publication(datasette, request) -> cite.Publication:
    """Title from the metadata, publisher and base URL from ``plugins.refdb`` in datasette.yaml."""
    settings = datasette.plugin_config("refdb") or {}
    title = (await datasette.get_instance_metadata()).get("title") or "refdb"
    # The Host header is pinned to the configured base URL or the server's own address
    # (hosts.PinnedHost), so absolute_url cannot carry a client's Host.
    base_url = public_base(settings) or datasette.absolute_url(request, datasette.urls.path(""))
    return cite.Publication(
        title=title, publisher=settings.get("publisher") or "refdb", base_url=base_url
    )
