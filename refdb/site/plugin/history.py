"""An entry's history, its old versions and the differences between them, as pages.

    /system/<id>/history                 every version, newest first, with what changed
    /system/<id>@<version>               the entry as it was in that version (a citation's link)
    /system/<id>/diff?from=<v>&to=<v>    what differs between two versions (to: the latest)

A version page is rendered only from what the build stored for that version, so editing the
entry later never changes it; only the banner and "changed since" follow the catalog.
"""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
from collections import defaultdict
from datetime import date

from datasette.utils.asgi import Response

from refdb import cite
from refdb.catalog.categories import class_words
from refdb.catalog.countries import country_name
from refdb.catalog.names import Name, listed_names
from refdb.catalog.properties import PROPERTIES
from refdb.catalog.versions import VERSION_LENGTH, describe_changes
from refdb.site.plugin import hosts, pages

_rows = pages.query_rows


def lineage_id(conn: sqlite3.Connection, wanted: str) -> str | None:
    """The id an entry's history is kept under: the entry (or redirect) itself, or, for a
    removed or renamed entry, the id its versions were recorded with."""
    found = pages.resolve_system_id(conn, wanted)
    if found:
        return found
    row = conn.execute(
        "select system_id from entry_versions where system_id = :id or id_then = :id "
        "order by system_id = :id desc limit 1",
        {"id": wanted},
    ).fetchone()
    return row[0] if row else None


def entry_history(conn: sqlite3.Connection, wanted: str) -> dict | None:
    """The steps of an entry's history, newest first, each with what changed in words."""
    system_id = lineage_id(conn, wanted)
    if system_id is None:
        return None
    steps = _rows(
        conn,
        "select * from entry_changes where system_id = ? order by sequence desc",
        [system_id],
    )
    for step in steps:
        step["changes"] = json.loads(step["changes"])
        step["day"] = (step["date"] or "")[:10]
    latest = _latest(conn, system_id)
    return {
        "system_id": system_id,
        "name": latest["name"] if latest else system_id,
        "current": pages.resolve_system_id(conn, system_id) is not None,
        "steps": steps,
        "kept_in_git": any(step["git_commit"] for step in steps),
        "shallow": any(step["kind"] == "earliest" for step in steps),
        "uncommitted": any(not step["git_commit"] and step["kind"] != "current" for step in steps),
    }


def _latest(conn: sqlite3.Connection, system_id: str) -> dict | None:
    """The newest version an entry has (its current one, or its last before removal)."""
    [row] = _rows(
        conn,
        "select v.* from entry_changes c join entry_versions v "
        "on v.system_id = c.system_id and v.version = c.version "
        "where c.system_id = ? order by c.sequence desc limit 1",
        [system_id],
    ) or [None]
    return row


def _version(conn: sqlite3.Connection, system_id: str, wanted: str, version: str) -> dict | None:
    [row] = _rows(
        conn,
        "select * from entry_versions where version = :version "
        "and (system_id = :lineage or id_then = :wanted) order by system_id = :lineage desc",
        {"version": version, "lineage": system_id, "wanted": wanted},
    ) or [None]
    return row


def version_view(conn: sqlite3.Connection, wanted: str, version: str) -> dict | None:
    """One version as it was, what has changed since, and the steps that made it."""
    system_id = lineage_id(conn, wanted)
    row = _version(conn, system_id, wanted, version) if system_id else None
    if row is None:
        return None
    data = json.loads(row["data"]) if row["data"] else None
    latest = _latest(conn, system_id)
    removed = conn.execute(
        "select date from entry_changes where system_id = ? and kind = 'removed' "
        "and sequence = (select max(sequence) from entry_changes where system_id = ?)",
        [system_id, system_id],
    ).fetchone()
    is_latest = latest is not None and latest["version"] == row["version"]
    since = []
    if latest and not is_latest:
        since = describe_changes(data or {}, json.loads(latest["data"] or "{}"))
    return {
        "version": row,
        "system_id": system_id,
        "card": _card(conn, row, data),
        "is_current": is_latest and not removed,
        "removed": (removed[0] or "not committed yet") if removed else None,
        "latest": latest,
        "since": since,
        "made_by": _rows(
            conn,
            "select * from entry_changes where system_id = ? and version = ? order by sequence",
            [system_id, row["version"]],
        ),
    }


def _card(conn: sqlite3.Connection, row: dict, data: dict | None) -> dict | None:
    """What the reference card shows, from the version's own data; None when the data is
    too far from today's format to lay out (the page then shows the file as written)."""
    if not isinstance(data, dict):
        return None
    try:
        sources = _sources(conn, row["system_id"], data.get("sources") or {})
        numbers = {source["key"]: source["number"] for source in sources}
        names = dict(conn.execute("select id, name from systems"))
        countries = pages.country_names(conn)
        return {
            "system": {
                **{key: data.get(key) for key in _SCALARS},
                "designations": " · ".join(map(str, data.get("designations") or [])),
                "operators": ", ".join(
                    countries.get(str(code)) or country_name(str(code))
                    for code in data.get("operators") or []
                ),
                "country_name": row["country_name"] or data.get("country"),
            },
            "names": pages.names_by_language(_names(data)),
            "specs": _specs(data.get("specs") or [], numbers),
            "relations": [
                {
                    **relation,
                    "label": str(relation.get("type", "")).replace("-", " "),
                    "target_id": str(relation.get("target")),
                    "target_name": names.get(str(relation.get("target")), relation.get("target")),
                    "sources": _cited(relation.get("sources"), numbers),
                }
                for relation in data.get("relations") or []
            ],
            "sources": sources,
            "entry_sources": _cited(data.get("entry_sources"), numbers),
        }
    except (AttributeError, TypeError, ValueError, KeyError):
        return None


_SCALARS = (
    "id",
    "name",
    "nato_reporting_name",
    "category",
    "role",
    "country",
    "designer",
    "manufacturer",
    "status",
    "wikidata",
    "description",
)


def _names(data: dict) -> list[dict]:
    """The names the version's file gives, listed by the rule the build lists an entry's
    names with (:func:`refdb.catalog.names.listed_names`)."""
    system_id, shared = str(data.get("id")), tuple(data.get("not_context") or ())
    aliases = [_alias(system_id, alias, data, shared) for alias in data.get("aliases") or []]
    nato = data.get("nato_reporting_name")
    listed = listed_names(
        system_id, str(data.get("name")), [str(d) for d in data.get("designations") or []],
        str(nato) if nato else None, [alias for alias in aliases if alias], shared,
    )  # fmt: skip
    return [
        {"text": n.text, "lang": n.lang, "kind": n.kind, "note": n.note, "used_in": list(n.used_in)}
        for n in listed
    ]


def _cited(keys, numbers: dict[str, int]) -> list[int]:
    """The numbers of the sources ``keys`` name, in order, as the entry page cites them."""
    return sorted({numbers[key] for key in keys or [] if key in numbers})


def _alias(system_id: str, alias, data: dict, shared: tuple[str, ...]) -> Name | None:
    if not isinstance(alias, dict):
        return None
    context = tuple(alias.get("context") or ())
    if alias.get("class_context"):
        context += class_words(str(data.get("category")))
    return Name(
        system_id, str(alias.get("text")), str(alias.get("kind")), alias.get("lang"),
        bool(alias.get("case_sensitive")), alias.get("note"), context,
        tuple(alias.get("not_context") or ()) + shared, tuple(alias.get("used_in") or ()),
    )  # fmt: skip


def _specs(specs: list[dict], numbers: dict[str, int]) -> list[dict]:
    shown, values = [], defaultdict(set)
    for spec in specs:
        values[spec.get("property")].add((str(spec.get("value")), spec.get("unit")))
    for spec in specs:
        prop = PROPERTIES.get(spec.get("property"))
        display, also = pages.spec_words(spec.get("value"), spec.get("unit"), spec.get("property"))
        shown.append(
            {
                **spec,
                "property_label": prop.label if prop else spec.get("property"),
                "display": display,
                "value_text": spec.get("value") if isinstance(spec.get("value"), str) else None,
                "also": also,
                "contested": len(values[spec.get("property")]) > 1,
                "sources": _cited(spec.get("sources"), numbers),
            }
        )
    return shown


def _sources(conn: sqlite3.Connection, system_id: str, sources: dict) -> list[dict]:
    """The numbered sources as the version wrote them; a publisher's name and standing
    come from today's register, an article's title from today's catalog."""
    register = {
        row["id"]: row for row in _rows(conn, "select id, name, kind, reliability from publishers")
    }
    shown = []
    for number, (key, source) in enumerate(sources.items(), start=1):
        item = {"key": key, "number": number, "id": f"{system_id}--{key}", **source}
        if source.get("article"):
            title = conn.execute("select title from articles where id = ?", [source["article"]])
            found = title.fetchone()
            item |= {"kind": "article", "article_id": source["article"]}
            item["title"] = found[0] if found else source["article"]
        else:
            publisher = register.get(source.get("publisher") or "")
            item["kind"] = "external"
            item["publisher"] = publisher["name"] if publisher else source.get("publisher")
            item["caution"] = (
                pages.caution(publisher["kind"], publisher["reliability"]) if publisher else None
            )
            item["via_host"] = pages.host(source.get("via"))
        shown.append(item)
    return shown


def diff_view(conn: sqlite3.Connection, wanted: str, old: str, new: str | None) -> dict | None:
    """Two versions side by side: what changed in words, and the file's lines."""
    system_id = lineage_id(conn, wanted)
    if system_id is None:
        return None
    latest = _latest(conn, system_id)
    before = _version(conn, system_id, wanted, old)
    after = _version(conn, system_id, wanted, new) if new else latest
    if before is None or after is None:
        return None
    lines = difflib.unified_diff(
        before["yaml"].splitlines(),
        after["yaml"].splitlines(),
        f"{before['file']}@{before['version']}",
        f"{after['file']}@{after['version']}",
        lineterm="",
    )
    return {
        "system_id": system_id,
        "before": before,
        "after": after,
        "changes": describe_changes(
            json.loads(before["data"] or "{}"), json.loads(after["data"] or "{}")
        ),
        "lines": [{"text": line, "kind": _line_kind(line)} for line in lines],
    }


def _line_kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    return {"+": "added", "-": "removed", "@": "hunk"}.get(line[:1], "same")


# --- routes -------------------------------------------------------------------------------

VERSION = re.compile(rf"[0-9a-f]{{{VERSION_LENGTH}}}")


async def _run(datasette, fn):
    db = datasette.get_database(pages.DATABASE)
    return await db.execute_fn(fn)


async def history_page(datasette, request):
    wanted = request.url_vars["id"]
    view = await _run(datasette, lambda conn: entry_history(conn, wanted))
    if view is None:
        return await _not_found(datasette, request, wanted, None)
    if view["system_id"] != wanted:
        return Response.redirect(datasette.urls.path(f"/system/{view['system_id']}/history"))
    return Response.html(
        await datasette.render_template("refdb_history.html", view, request=request)
    )


async def version_page(datasette, request):
    wanted, version = request.url_vars["id"], request.url_vars["version"]
    view = None
    if VERSION.fullmatch(version):
        view = await _run(datasette, lambda conn: version_view(conn, wanted, version))
    if view is None:
        return await _not_found(datasette, request, wanted, version)
    about = await hosts.publication(datasette, request)
    record = await _run(
        datasette, lambda conn: cite.version_record(conn, view["system_id"], version)
    )
    view["citation"] = cite.to_text(cite.csl_item(record, about, date.today()))
    return Response.html(
        await datasette.render_template("refdb_version.html", view, request=request)
    )


async def diff_page(datasette, request):
    wanted = request.url_vars["id"]
    old, new = request.args.get("from", ""), request.args.get("to") or None
    view = None
    if VERSION.fullmatch(old) and (new is None or VERSION.fullmatch(new)):
        view = await _run(datasette, lambda conn: diff_view(conn, wanted, old, new))
    if view is None:
        shown = old if new is None else f"{old} or {new}"
        return await _not_found(datasette, request, wanted, shown)
    return Response.html(await datasette.render_template("refdb_diff.html", view, request=request))


async def _not_found(datasette, request, wanted: str, version: str | None):
    """A 404 that says what is missing and links the entry's history when there is one."""
    system_id = await _run(datasette, lambda conn: lineage_id(conn, wanted))
    context = {"wanted": wanted, "version": version, "system_id": system_id}
    return Response.html(
        await datasette.render_template("refdb_version_not_found.html", context, request=request),
        status=404,
    )


ROUTES = [
    (r"^/system/(?P<id>[a-z0-9-]+)/history$", history_page),
    (r"^/system/(?P<id>[a-z0-9-]+)/diff$", diff_page),
    (r"^/system/(?P<id>[a-z0-9-]+)@(?P<version>[^/]*)$", version_page),
]
