"""Datasette hooks that publish the refdb database as a reference work.

Registered through the ``datasette`` entry point, so plain ``datasette serve`` on a refdb
database gets them too: entry and article pages (template variables for the row-page
overrides in ``templates/``), permalinks ``/system/<id>``, a sitemap, per-connection
limits that keep arbitrary SQL bounded (``limits.py``) and absolute URLs no request's Host
header can change (``hosts.py``).
"""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from datasette import hookimpl
from datasette.resources import DatabaseResource
from datasette.utils import tilde_decode
from datasette.utils.asgi import Response

from refdb import cite
from refdb.catalog import units
from refdb.site.plugin import (
    article_page,
    cells,
    documents,
    exports,
    guard,
    history,
    hosts,
    limits,
    listings,
    pages,
    searching,
    table_search,
)

# URL extension of each citation format -> the file name suffix reference managers expect.
CITATION_FORMATS = {"bib": "bibtex", "ris": "ris", "csljson": "csl-json"}
DOWNLOAD_SUFFIXES = {"bib": ".bib", "ris": ".ris", "csljson": ".csl.json"}
# The longest search or filter value a page takes: a name, not a document.
MAX_PARAMETER = 200


# What a public citation needs from plugins.refdb, and the placeholder publisher.
class BadRequest(ValueError):
    """A query parameter a page cannot use: answered with 400 and the message."""


def _database(datasette):
    try:
        return datasette.get_database(pages.DATABASE)
    except KeyError:
        return None


def _no_database() -> Response:
    return Response.text(
        f"This Datasette serves no '{pages.DATABASE}' database: build one with `refdb build` "
        "and serve it with `refdb serve`.",
        status=404,
    )


def _parameter(request, name: str, default: str = "") -> str:
    """A query parameter as text of reasonable length, or BadRequest."""
    value = request.args.get(name, default).strip()
    if len(value) > MAX_PARAMETER or "\x00" in value:
        raise BadRequest(f"{name} must be at most {MAX_PARAMETER} characters of text")
    return value


def _page_number(request) -> int:
    raw = _parameter(request, "page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise BadRequest("page must be a whole number from 1")
    return int(raw)


def route(handler):
    """A plugin page: 404 when no refdb database is attached, 400 for a bad parameter."""

    async def guarded(datasette, request):
        db = _database(datasette)
        if db is None:
            return _no_database()
        try:
            return await handler(datasette, request, db)
        except BadRequest as error:
            return Response.text(str(error), status=400)

    guarded.__name__ = handler.__name__
    return guarded


@hookimpl
def prepare_connection(conn, datasette):
    limits.bound(conn, datasette.setting("sql_time_limit_ms"))
    # Mach, km/h and knots on one scale, for the compare_spec query and analysts' SQL.
    conn.create_function("refdb_comparable", 3, units.comparable, deterministic=True)


@hookimpl
def asgi_wrapper(datasette):
    """Responses bounded in size; arbitrary SQL limited to its share of SQL threads; odd
    requests answered 400 or 405, never 500; CSV without formulas; absolute URLs from the
    configured base URL, not the Host; the systems table's search form sent to refdb's
    search."""
    base_url = hosts.public_base(datasette.plugin_config("refdb"))
    search_path = datasette.urls.path("/search")
    return lambda app: hosts.PinnedHost(
        table_search.SearchRedirect(
            limits.SqlShare(
                limits.ResponseCap(
                    guard.RequestGuard(exports.CsvFormulaGuard(app), datasette, pages.DATABASE)
                )
            ),
            search_path,
        ),
        base_url,
    )


@hookimpl
def extra_css_urls(datasette):
    """refdb's stylesheet on every page: Datasette's own pages fit a phone too."""
    return [datasette.urls.static_plugins("refdb", "refdb.css")]


async def _trusted(db, fn):
    """Run one of the plugin's own fixed queries, outside the budget arbitrary SQL gets."""

    def run(conn):
        with limits.trusted(conn):
            return fn(conn)

    return await db.execute_fn(run)


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    """Every page: the licence and the catalog's last change for the footer. The entry,
    article and home pages: their content; a canned query: the lists its parameters take."""

    async def variables():
        db = _database(datasette)
        if db is None:
            return {}
        found = {"refdb_site": await _site(datasette, db)}
        if database != pages.DATABASE and template != "index.html":
            return found
        if view_name == "row" and table in ("systems", "articles") and request:
            row_id = tilde_decode(request.url_vars["pks"])
            if table == "systems":
                card = await _trusted(db, lambda conn: pages.system_card(conn, row_id))
                found["card"] = card
                found["citation"] = (
                    await _citation(datasette, request, db, row_id) if card else None
                )
            else:
                found["article_view"] = await _trusted(
                    db, lambda conn: article_page.article_view(conn, row_id)
                )
                found["publication"] = await hosts.publication(datasette, request)
        elif template == "index.html":
            found["refdb"] = await db.execute_fn(searching.home_stats)
        elif template.startswith("query") and request and request.url_vars.get("table"):
            found["refdb_choices"] = await db.execute_fn(listings.list_choices)
        return found

    return variables


async def _site(datasette, db) -> dict:
    """What the footer of every page says: the licence and when the catalog last changed."""
    metadata = await datasette.get_instance_metadata()
    build = await db.execute_fn(pages.build_info)
    return {
        "license": metadata.get("license"),
        "license_url": metadata.get("license_url"),
        "build": build,
    }


async def _citation(datasette, request, db, system_id: str) -> dict:
    """The entry's citation as shown on its page: text, CSL item, download links, and a
    warning when the citation would not point anywhere public."""
    about = await hosts.publication(datasette, request)
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
        "warnings": cite.publication_warnings(datasette.plugin_config("refdb")),
    }


def _absolute(datasette, request):
    return lambda path: datasette.absolute_url(request, datasette.urls.path(path))


def _not_found_entry(datasette, request, db, wanted: str):
    async def render():
        nearest = await db.execute_fn(lambda conn: searching.suggestions(conn, wanted))
        return Response.html(
            await datasette.render_template(
                "refdb_not_found.html",
                {"wanted": wanted, "suggestions": nearest},
                request=request,
            ),
            status=404,
        )

    return render()


@route
async def system_permalink(datasette, request, db):
    """/system/<id>: the stable URL citations use; alias ids redirect to the entry."""
    wanted = request.url_vars["id"]
    target = await db.execute_fn(lambda conn: pages.resolve_system_id(conn, wanted))
    if target is None:
        return await _not_found_entry(datasette, request, db, wanted)
    if target != wanted:
        return Response.redirect(datasette.urls.path(f"/system/{target}"), status=301)
    return Response.redirect(datasette.urls.row(pages.DATABASE, "systems", target), status=302)


@route
async def system_json(datasette, request, db):
    """/system/<id>.json: the whole card as one nested document, the API for reuse."""
    wanted = request.url_vars["id"]
    target = await db.execute_fn(lambda conn: pages.resolve_system_id(conn, wanted))
    if target is None:
        nearest = await db.execute_fn(lambda conn: searching.suggestions(conn, wanted))
        return Response.json(
            {"ok": False, "error": f"no entry '{wanted}'", "did_you_mean": nearest}, status=404
        )
    if target != wanted:
        return Response.redirect(datasette.urls.path(f"/system/{target}.json"), status=301)
    link = _absolute(datasette, request)
    document = await _trusted(db, lambda conn: documents.system_document(conn, target, link))
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
        headers={"access-control-allow-origin": "*"},
    )


@route
async def search(datasette, request, db):
    """/search?q=: straight to the entry a query names (one of its names or spellings), else
    the systems list of results, each with why it is there."""
    query = _parameter(request, "q")
    named = await _trusted(db, lambda conn: searching.named_entries(conn, query)) if query else []
    if len(named) == 1:
        return Response.redirect(datasette.urls.path(f"/system/{named[0]['id']}"))
    target = datasette.urls.path("/systems")
    return Response.redirect(f"{target}?{urlencode({'q': query})}" if query else target)


@route
async def systems(datasette, request, db):
    """/systems: the list of entries, searched and filtered, with facets."""
    query = _parameter(request, "q")
    filters = {name: _parameter(request, name) for name in listings.LIST_FILTERS}
    page = _page_number(request)
    listing = await _trusted(db, lambda conn: listings.systems_list(conn, query, filters, page))
    if page > listing["pages"]:
        raise BadRequest(f"page must be at most {listing['pages']}")
    return Response.html(
        await datasette.render_template("refdb_systems.html", {"listing": listing}, request=request)
    )


def _list_page(template: str, build):
    """A designed list page: ``build(conn, request)`` gives its content, a page at a time."""

    @route
    async def page(datasette, request, db):
        number = _page_number(request)
        data = await _trusted(db, lambda conn: build(conn, request, number))
        if number > data.get("pages", 1):
            raise BadRequest(f"page must be at most {data['pages']}")
        return Response.html(await datasette.render_template(template, data, request=request))

    page.__name__ = template.removesuffix(".html")
    return page


articles_page = _list_page(
    "refdb_articles.html", lambda conn, request, n: listings.articles_list(conn, n)
)
mentions_page = _list_page(
    "refdb_mentions.html",
    lambda conn, request, n: listings.mention_search(conn, _parameter(request, "q"), n),
)
sources_page = _list_page(
    "refdb_sources.html", lambda conn, request, n: listings.sources_list(conn, n)
)
contested_page = _list_page(
    "refdb_contested.html", lambda conn, request, n: listings.contested_values(conn)
)


async def databases(datasette, request):
    """/-/databases.json without the ``path`` Datasette would show: no internal paths leak.
    Only the databases the actor may view are listed."""
    shown = []
    for name, db in datasette.databases.items():
        if name.startswith("_") or not await datasette.allowed(
            action="view-database", resource=DatabaseResource(database=name), actor=request.actor
        ):
            continue
        shown.append(
            {
                "name": db.name,
                "route": db.route,
                "size": db.size,
                "is_mutable": db.is_mutable,
                "is_memory": db.is_memory,
                "hash": db.hash,
            }
        )
    return Response.json({"ok": True, "databases": shown})


@route
async def charts(datasette, request, db):
    """/charts: one spec compared across systems (log scale), and mentions over time."""
    prop = _parameter(request, "property", "max_range")
    properties = await db.execute_fn(documents.chartable_properties)
    numeric = await db.execute_fn(lambda conn: documents.chartable_properties(conn, min_systems=1))
    if prop not in dict(numeric):
        raise BadRequest(f"property must be one of: {', '.join(name for name, _ in numeric)}")
    data = await db.execute_fn(
        lambda conn: {
            "chart": documents.spec_chart(conn, prop),
            "properties": properties,
            "timeline": documents.mention_timeline(conn),
        }
    )
    return Response.html(
        await datasette.render_template("refdb_charts.html", data, request=request)
    )


async def sitemap(datasette, request):
    db = _database(datasette)
    paths = await db.execute_fn(searching.sitemap_paths) if db else []
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
        (r"^/system/(?P<id>[a-z0-9-]+)\.json$", system_json),
        (r"^/search$", search),
        (r"^/systems$", systems),
        (r"^/articles$", articles_page),
        (r"^/mentions$", mentions_page),
        (r"^/sources$", sources_page),
        (r"^/contested$", contested_page),
        (r"^/charts$", charts),
        (r"^/-/databases(\.json)?$", databases),
        (r"^/sitemap\.xml$", sitemap),
        (r"^/robots\.txt$", robots),
        *[(pattern, _needs_database(handler)) for pattern, handler in history.ROUTES],
    ]


def _needs_database(handler):
    """A page of the history: 404 saying so when no refdb database is served, not a 500."""

    async def guarded(datasette, request):
        if _database(datasette) is None:
            return _no_database()
        return await handler(datasette, request)

    guarded.__name__ = handler.__name__
    return guarded


@hookimpl
def render_cell(row, value, column, table, database, datasette, request):
    """Canned query results and the mentions table read as the pages do: ids link to
    entries and articles, numbers and yes/no are formatted, a mention is marked in its
    sentence and linked to its place in the article."""
    if database != pages.DATABASE or request is None:
        return None
    if table is None and request.url_vars.get("table"):
        return cells.query_cell(datasette, row, column, value)
    if table == "mentions":
        return cells.mention_cell(datasette, request, row, column, value)
    return None


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
        about = await hosts.publication(datasette, request)
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
