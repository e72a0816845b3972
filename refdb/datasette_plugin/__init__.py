"""Datasette hooks that publish the refdb database as a reference work.

Registered through the ``datasette`` entry point, so plain ``datasette serve`` on a refdb
database gets them too: entry and article pages (template variables for the row-page
overrides in ``templates/``), permalinks ``/system/<id>``, a sitemap, per-connection
limits that keep arbitrary SQL bounded (``limits.py``) and absolute URLs no request's Host
header can change (``hosts.py``).
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote
from xml.sax.saxutils import escape

from datasette import hookimpl
from datasette.utils import tilde_decode
from datasette.utils.asgi import Response

from refdb import cite
from refdb.datasette_plugin import history, hosts, limits, pages

# URL extension of each citation format -> the file name suffix reference managers expect.
CITATION_FORMATS = {"bib": "bibtex", "ris": "ris", "csljson": "csl-json"}
DOWNLOAD_SUFFIXES = {"bib": ".bib", "ris": ".ris", "csljson": ".csl.json"}


def _database(datasette):
    try:
        return datasette.get_database(pages.DATABASE)
    except KeyError:
        return None


@hookimpl
def prepare_connection(conn):
    limits.bound(conn)


@hookimpl
def asgi_wrapper(datasette):
    """Responses bounded in size; absolute URLs from the configured base URL, not the Host."""
    base_url = hosts.public_base(datasette.plugin_config("refdb"))
    return lambda app: hosts.PinnedHost(limits.ResponseCap(app), base_url)


async def _trusted(db, fn):
    """Run one of the plugin's own fixed queries, outside the budget arbitrary SQL gets."""

    def run(conn):
        with limits.trusted(conn):
            return fn(conn)

    return await db.execute_fn(run)


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
                card = await _trusted(db, lambda conn: pages.system_card(conn, row_id))
                return {
                    "card": card,
                    "citation": await _citation(datasette, request, db, row_id) if card else None,
                }
            return {
                "article_view": await _trusted(db, lambda conn: pages.article_view(conn, row_id))
            }
        if template == "index.html":
            return {"refdb": await db.execute_fn(pages.home_stats)}
        return {}

    return variables


async def _citation(datasette, request, db, system_id: str) -> dict:
    """The entry's citation as shown on its page: text, CSL item, and the download links."""
    about = await publication(datasette, request)
    [item] = await db.execute_fn(
        lambda conn: cite.csl_items(conn, [system_id], about, date.today())
    )
    row_url = datasette.urls.row(pages.DATABASE, "systems", system_id)
    return {
        "item": item,
        "text": cite.to_text(item),
        "downloads": [
            (fmt, f"{row_url}.{extension}") for extension, fmt in CITATION_FORMATS.items()
        ],
    }


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


async def databases(datasette, request):
    """/-/databases.json without the ``path`` Datasette would show: no internal paths leak."""
    listed = await datasette._databases_data(request)  # Datasette's own list, permissions applied
    shown = [
        {key: value for key, value in db.items() if key != "path"} for db in listed["databases"]
    ]
    return Response.json({"ok": True, "databases": shown})


async def charts(datasette, request):
    """/charts: one spec compared across systems (log scale), and mentions over time."""
    db = _database(datasette)
    prop = request.args.get("property", "max_range")
    data = await db.execute_fn(
        lambda conn: {
            "chart": pages.spec_chart(conn, prop),
            "properties": pages.chartable_properties(conn),
            "timeline": pages.mention_timeline(conn),
        }
    )
    return Response.html(
        await datasette.render_template("refdb_charts.html", data, request=request)
    )


async def sitemap(datasette, request):
    db = _database(datasette)
    paths = await db.execute_fn(pages.sitemap_paths) if db else []
    urls = "".join(
        f"<url><loc>{escape(datasette.absolute_url(request, datasette.urls.path(path)))}</loc></url>"
        for path in paths
    )
    body = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    return Response(body, content_type="application/xml; charset=utf-8")


async def robots(datasette, request):
    sitemap_url = datasette.absolute_url(request, datasette.urls.path("/sitemap.xml"))
    return Response.text(f"User-agent: *\nDisallow: /refdb/-/query\nSitemap: {sitemap_url}\n")


@hookimpl
def register_routes():
    return [
        (r"^/system/(?P<id>[a-z0-9-]+)$", system_permalink),
        (r"^/search$", search),
        (r"^/charts$", charts),
        (r"^/-/databases(\.json)?$", databases),
        (r"^/sitemap\.xml$", sitemap),
        (r"^/robots\.txt$", robots),
        *history.ROUTES,
    ]


async def publication(datasette, request) -> cite.Publication:
    """Title from the metadata, publisher and base URL from ``plugins.refdb`` in datasette.yaml."""
    settings = datasette.plugin_config("refdb") or {}
    title = (await datasette.get_instance_metadata()).get("title") or "refdb"
    # The Host header is pinned to the configured base URL or the server's own address
    # (hosts.PinnedHost), so absolute_url cannot carry a client's Host.
    base_url = hosts.public_base(settings) or datasette.absolute_url(
        request, datasette.urls.path("")
    )
    return cite.Publication(
        title=title, publisher=settings.get("publisher") or "refdb", base_url=base_url
    )


def _citation_renderer(fmt: str, extension: str):
    async def render(datasette, rows, request, view_name, database, table):
        if not _can_cite(database, table):
            return Response.text(
                f"Only systems can be cited; try /{pages.DATABASE}/systems.{extension}", status=404
            )
        try:
            accessed = date.fromisoformat(request.args.get("accessed") or date.today().isoformat())
        except ValueError:
            return Response.text("accessed must be a date: YYYY-MM-DD", status=400)
        about = await publication(datasette, request)
        ids = [row["id"] for row in rows]
        items = await _database(datasette).execute_fn(
            lambda conn: cite.csl_items(conn, ids, about, accessed)
        )
        body = cite.render(items, fmt)
        name = f"refdb-{ids[0]}" if view_name == "row" and ids else "refdb-systems"
        return Response(
            body,
            content_type=cite.MEDIA_TYPES[fmt],
            headers={
                "content-disposition": f'attachment; filename="{name}{DOWNLOAD_SUFFIXES[extension]}"'
            },
        )

    return render


def _can_cite(database, table):
    return database == pages.DATABASE and table == "systems"


@hookimpl
def register_output_renderer():
    """Every systems row, and every filtered list of systems, as .bib, .ris and .csljson."""
    return [
        {
            "extension": extension,
            "render": _citation_renderer(fmt, extension),
            "can_render": _can_cite,
        }
        for extension, fmt in CITATION_FORMATS.items()
    ]
