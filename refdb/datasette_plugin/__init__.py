"""Datasette hooks that publish the refdb database as a reference work.

Registered through the ``datasette`` entry point, so plain ``datasette serve`` on a refdb
database gets them too: entry and article pages (template variables for the row-page
overrides in ``templates/``), permalinks ``/system/<id>``, a sitemap, and per-connection
limits that keep arbitrary SQL bounded.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import quote
from xml.sax.saxutils import escape

from datasette import hookimpl
from datasette.utils import tilde_decode
from datasette.utils.asgi import Response

from refdb.datasette_plugin import pages

# Longest string or blob a query may build: `select randomblob(2e8)` ignores the time limit.
MAX_VALUE_BYTES = 5_000_000


def _database(datasette):
    try:
        return datasette.get_database(pages.DATABASE)
    except KeyError:
        return None


@hookimpl
def prepare_connection(conn):
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    """Data for the entry page, the article page and the home page."""
    if database != pages.DATABASE and template != "index.html":
        return None

    async def variables():
        db = _database(datasette)
        if db is None:
            return {}
        if view_name == "row" and table in ("systems", "articles"):
            row_id = tilde_decode(request.url_vars["pks"])
            if table == "systems":
                title = (await datasette.get_instance_metadata()).get("title") or "refdb"
                card = await db.execute_fn(lambda conn: pages.system_card(conn, row_id))
                return {"card": card, "publication_title": title}
            return {
                "article_view": await db.execute_fn(lambda conn: pages.article_view(conn, row_id))
            }
        if template == "index.html":
            return {"refdb": await db.execute_fn(pages.home_stats)}
        return {}

    return variables


async def system_permalink(datasette, request):
    """/system/<id>: the stable URL citations use; alias ids redirect to the entry."""
    db = _database(datasette)
    wanted = request.url_vars["id"]
    target = await db.execute_fn(lambda conn: pages.resolve_system_id(conn, wanted)) if db else None
    if target is None:
        return Response.html(
            await datasette.render_template(
                "refdb_not_found.html", {"wanted": wanted}, request=request
            ),
            status=404,
        )
    if target != wanted:
        return Response.redirect(datasette.urls.path(f"/system/{target}"), status=301)
    return Response.redirect(datasette.urls.row(pages.DATABASE, "systems", target), status=302)


async def search(datasette, request):
    """/search?q=: straight to the entry when one system matches, else the filtered table."""
    query = request.args.get("q", "").strip()
    db = _database(datasette)
    matches = (
        await db.execute_fn(lambda conn: pages.search_systems(conn, query, limit=2))
        if db and query
        else []
    )
    if len(matches) == 1:
        return Response.redirect(datasette.urls.path(f"/system/{matches[0]}"))
    target = datasette.urls.table(pages.DATABASE, "systems")
    return Response.redirect(f"{target}?_search={quote(query)}" if query else target)


async def sitemap(datasette, request):
    db = _database(datasette)
    paths = await db.execute_fn(pages.sitemap_paths) if db else []
    base = f"{request.scheme}://{request.host}"
    urls = "".join(
        f"<url><loc>{escape(base + datasette.urls.path(path))}</loc></url>" for path in paths
    )
    body = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    return Response(body, content_type="application/xml; charset=utf-8")


async def robots(datasette, request):
    sitemap_url = f"{request.scheme}://{request.host}{datasette.urls.path('/sitemap.xml')}"
    return Response.text(f"User-agent: *\nDisallow: /refdb/-/query\nSitemap: {sitemap_url}\n")


@hookimpl
def register_routes():
    return [
        (r"^/system/(?P<id>[a-z0-9-]+)$", system_permalink),
        (r"^/search$", search),
        (r"^/sitemap\.xml$", sitemap),
        (r"^/robots\.txt$", robots),
    ]
