"""One entry -> a citation: CSL-JSON first, and BibTeX, RIS, text and Markdown derived from it.

A citation must let a reader years later find exactly what was cited, so besides the
permalink it carries the entry's own version (the hash of its YAML file), the catalog's
version (and git commit when the catalog is a checkout), the entry's last-modified date and
the date the citing author accessed it.
"""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from refdb import journal
from refdb.settings import BadSettings, read_mapping

FORMATS = ("text", "markdown", "bibtex", "bibtex-misc", "csl-json", "ris")
MEDIA_TYPES = {
    "bibtex": "application/x-bibtex; charset=utf-8",
    "bibtex-misc": "application/x-bibtex; charset=utf-8",
    "csl-json": "application/vnd.citationstyles.csl+json; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
    "text": "text/plain; charset=utf-8",
    "markdown": "text/markdown; charset=utf-8",
}
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass(frozen=True)
class Publication:
    """Who publishes the database and where: from datasette.yaml and metadata.yaml."""

    title: str = "refdb"
    publisher: str = "refdb"
    base_url: str = "http://127.0.0.1:8001"

    @classmethod
    def from_files(cls, config: Path | None = None, metadata: Path | None = None) -> Publication:
        settings = {}
        if config and Path(config).exists():
            plugin = cls.plugin_settings(config)
            settings |= {key: plugin[key] for key in ("publisher", "base_url") if plugin.get(key)}
        if metadata and Path(metadata).exists():
            title = read_mapping(metadata).get("title")
            settings |= {"title": title} if isinstance(title, str) and title else {}
        return cls(**settings)

    @staticmethod
    def plugin_settings(config: Path | None) -> dict:
        """``plugins: refdb:`` of a datasette.yaml, or nothing."""
        if not config or not Path(config).exists():
            return {}
        plugins = read_mapping(config).get("plugins") or {}
        settings = plugins.get("refdb") if isinstance(plugins, dict) else None
        if settings is not None and not isinstance(settings, dict):
            raise BadSettings(f"{config}: plugins.refdb must be a mapping (publisher, base_url)")
        return settings or {}


PLACEHOLDER_PUBLISHERS = {"", "refdb", "refdb project"}


def publication_warnings(settings: dict | None) -> list[str]:
    """What a citation lacks when ``plugins.refdb`` (datasette.yaml) names no public base URL
    or no real publisher: said by the cite box and by `refdb cite`."""
    settings = settings or {}
    warnings = []
    if not (settings.get("base_url") or "").strip():
        warnings.append(
            "no public base URL is configured (plugins: refdb: base_url in datasette.yaml), "
            "so this citation points at a local address"
        )
    if (settings.get("publisher") or "").strip().lower() in PLACEHOLDER_PUBLISHERS:
        warnings.append(
            "no publisher is configured (plugins: refdb: publisher in datasette.yaml), "
            "so the citation names a placeholder"
        )
    return warnings


class UnknownEntry(LookupError):
    """No entry has this id; the message lists the closest ids."""


class UnknownVersion(LookupError):
    """The entry never had this version; the message lists the versions it had."""


class NotADatabase(LookupError):
    """The file is not a database refdb built."""


def entry_record(conn: sqlite3.Connection, system_id: str) -> dict:
    """What a citation needs about one entry and the build it comes from."""
    cursor = conn.execute(
        "select s.id, s.name, s.designation, s.content_sha256, s.modified, b.catalog_sha256, "
        "b.git_commit, b.git_dirty, b.built_at from systems s, build_info b where s.id = coalesce("
        "(select system_id from redirects where id = :id), :id)",
        {"id": system_id},
    )
    row = cursor.fetchone()
    if row is None:
        ids = [r[0] for r in conn.execute("select id from systems")]
        close = difflib.get_close_matches(system_id, ids, n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownEntry(f"no entry with id '{system_id}'{hint}")
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def version_record(conn: sqlite3.Connection, system_id: str, version: str) -> dict:
    """What a citation needs about one version of an entry, current or older (a removed
    entry's too): an older one is dated by the commit that made it."""
    try:
        current = entry_record(conn, system_id)
    except UnknownEntry:
        current = None
    lineage = current["id"] if current else system_id
    cursor = conn.execute(
        "select v.system_id as id, v.name, v.designation, v.sha256 as content_sha256, "
        "v.date as modified, null as catalog_sha256, v.git_commit, null as git_dirty, b.built_at "
        "from entry_versions v, build_info b where v.version = :version "
        "and (v.system_id = :id or v.id_then = :id)",
        {"version": version.strip().lower()[:12], "id": lineage},
    )
    row = cursor.fetchone()
    if row is None:
        known = conn.execute(
            "select version from entry_changes where version is not null and system_id = ? "
            "order by sequence desc",
            [lineage],
        ).fetchall()
        if current is None and not known:
            entry_record(conn, system_id)  # raises UnknownEntry, naming close ids
        listed = ", ".join(dict.fromkeys(v for (v,) in known))
        raise UnknownVersion(
            f"entry '{system_id}' has no version '{version}'; its versions, newest first: {listed}"
        )
    found = dict(zip([d[0] for d in cursor.description], row, strict=True))
    if current and found["content_sha256"] == current["content_sha256"]:
        return current  # the current version: cited with the catalog it is part of
    return found


def version_url(item: dict) -> str:
    """The URL of exactly the version cited: ``/system/<id>@<version>``."""
    return f"{item['URL']}@{item['version']}"


def _catalog_note(item: dict) -> str:
    """The note without the version URL: the catalog's version and commit."""
    return item["note"].removesuffix(f"; this version: {version_url(item)}")


def csl_item(record: dict, publication: Publication, accessed: date) -> dict:
    """The canonical form: a CSL-JSON item (what Zotero, Mendeley and pandoc read)."""
    modified = date.fromisoformat((record["modified"] or record["built_at"])[:10])
    parts = [f"catalog {record['catalog_sha256'][:12]}"] if record["catalog_sha256"] else []
    if record["git_commit"]:
        dirty = " with changes not yet committed" if record.get("git_dirty") else ""
        parts.append(f"commit {record['git_commit'][:12]}{dirty}")
    url = f"{publication.base_url.rstrip('/')}/system/{record['id']}"
    version = record["content_sha256"][:12]
    return {
        "id": f"refdb-{record['id']}",
        "type": "entry-encyclopedia",
        "title": title_of(record),
        "container-title": publication.title,
        "publisher": publication.publisher,
        "URL": url,
        "version": version,
        "note": f"{', '.join(parts)}; this version: {url}@{version}",
        "issued": {"date-parts": [[modified.year, modified.month, modified.day]]},
        "accessed": {"date-parts": [[accessed.year, accessed.month, accessed.day]]},
    }


def title_of(record: dict) -> str:
    name, designation = record["name"], record["designation"]
    return name if designation in name else f"{name} ({designation})"


def _date(parts: dict) -> date:
    return date(*parts["date-parts"][0])


def _long_date(day: date) -> str:
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def to_text(item: dict) -> str:
    """APA-style reference for an entry in a reference work."""
    issued = _date(item["issued"])
    return (
        f"{item['title']}. ({issued.year}, {_MONTHS[issued.month - 1]} {issued.day}). In {item['container-title']} "
        f"(version {item['version']}; {_catalog_note(item)}). {item['publisher']}. Retrieved {_long_date(_date(item['accessed']))}, "
        f"from {item['URL']} (this version: {version_url(item)})"
    )


def to_markdown(item: dict) -> str:
    return (
        to_text(item)
        .replace(f"from {item['URL']} (", f"from <{item['URL']}> (")
        .replace(f"(this version: {version_url(item)})", f"(this version: <{version_url(item)}>)")
        .replace(f"In {item['container-title']}", f"In *{item['container-title']}*")
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    **{c: "\\" + c for c in "&%$#_"},
}
_LATEX = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIAL))


def one_line(value: str) -> str:
    """Control characters and line breaks as one space: a value cannot start a new line,
    record or field in a citation file."""
    return _CONTROL.sub(" ", value)


def _bibtex_escape(value: str) -> str:
    """A value as BibTeX text: braces, backslashes and LaTeX specials cannot close the field
    or run a command."""
    return _LATEX.sub(lambda match: _LATEX_SPECIAL[match.group()], one_line(value))


def _bibtex_url(url: str) -> str:
    """A URL inside ``{...}``: braces and spaces percent-encoded, everything else as is."""
    return one_line(url).replace("{", "%7B").replace("}", "%7D").replace(" ", "%20")


def to_bibtex(item: dict, *, misc: bool = False) -> str:
    """biblatex ``@online`` (with urldate and version), or ``@misc`` for classic BibTeX styles.

    The title is wrapped in an extra pair of braces so styles keep "Kh-47M2" and proper names
    as written instead of lower-casing them.
    """
    issued, accessed = _date(item["issued"]), _date(item["accessed"])
    fields = {
        "title": "{" + _bibtex_escape(item["title"]) + "}",
        "organization" if not misc else "publisher": _bibtex_escape(item["publisher"]),
        "booktitle" if not misc else "howpublished": _bibtex_escape(item["container-title"]),
    }
    if misc:
        note = (
            f"\\url{{{_bibtex_url(item['URL'])}}}, version {_bibtex_escape(item['version'])} "
            f"(this version: \\url{{{_bibtex_url(version_url(item))}}}; "
            f"{_bibtex_escape(_catalog_note(item))}), accessed {accessed.isoformat()}"
        )
        fields |= {"year": str(issued.year), "note": note}
    else:
        fields |= {
            "date": issued.isoformat(),
            "url": _bibtex_url(item["URL"]),
            "urldate": accessed.isoformat(),
            "version": _bibtex_escape(item["version"]),
            "note": f"{_bibtex_escape(_catalog_note(item))}; this version: "
            f"\\url{{{_bibtex_url(version_url(item))}}}",
        }
    body = ",\n".join(f"  {key} = {{{value}}}" for key, value in fields.items())
    return f"@{'misc' if misc else 'online'}{{{item['id']},\n{body}\n}}\n"


def to_ris(item: dict) -> str:
    issued, accessed = _date(item["issued"]), _date(item["accessed"])
    lines = [
        ("TY", "ELEC"),
        ("ID", item["id"]),
        ("TI", item["title"]),
        ("T2", item["container-title"]),
        ("PB", item["publisher"]),
        ("DA", issued.strftime("%Y/%m/%d")),
        ("PY", str(issued.year)),
        ("UR", item["URL"]),
        ("UR", version_url(item)),
        ("Y2", accessed.strftime("%Y/%m/%d")),
        ("ET", item["version"]),
        ("N1", item["note"]),
        ("ER", ""),
    ]
    return "".join(f"{tag}  - {one_line(value).strip()}\n" for tag, value in lines)


def render(items: list[dict], fmt: str) -> str:
    """A bibliography of ``items`` in one format."""
    if fmt == "csl-json":
        return json.dumps(items, ensure_ascii=False, indent=2) + "\n"
    if fmt in ("bibtex", "bibtex-misc"):
        return "\n".join(to_bibtex(item, misc=fmt == "bibtex-misc") for item in items)
    if fmt == "ris":
        return "\n".join(to_ris(item) for item in items)
    if fmt in ("text", "markdown"):
        write = to_text if fmt == "text" else to_markdown
        return "\n\n".join(write(item) for item in items) + "\n"
    raise ValueError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")


def cite(
    system_id: str,
    db_path: Path | str = "refdb.db",
    fmt: str = "text",
    accessed: date | None = None,
    publication: Publication | None = None,
    version: str | None = None,
) -> str:
    """Cite one entry of a built database in ``fmt`` (one of FORMATS); with ``version``, the
    entry as it was in that version (``refdb cite ID --version V``)."""
    uri = journal.read_only_uri(db_path)
    try:
        journal.recover(db_path)
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            publication, accessed = publication or Publication(), accessed or date.today()
            if version:
                items = [csl_item(version_record(conn, system_id, version), publication, accessed)]
            else:
                items = csl_items(conn, [system_id], publication, accessed)
    except sqlite3.DatabaseError as error:
        raise NotADatabase(
            f"{db_path} is not a database built by refdb ({error}); build one with `refdb build`"
        ) from None
    return render(items, fmt)


def csl_items(
    conn: sqlite3.Connection, system_ids: list[str], publication: Publication, accessed: date
) -> list[dict]:
    """The CSL-JSON items of several entries of an open database (unknown ids raise)."""
    return [
        csl_item(entry_record(conn, system_id), publication, accessed) for system_id in system_ids
    ]
