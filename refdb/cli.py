"""The ``refdb`` command: thin click wrappers over the library; no logic beyond options and output."""

from __future__ import annotations

import atexit
import gc
import json
import os
import socket
import sqlite3
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import click

from refdb.catalog.categories import CATEGORIES
from refdb.cite import (
    FORMATS,
    NotADatabase,
    Publication,
    UnknownEntry,
    UnknownVersion,
    publication_warnings,
)
from refdb.cite import cite as cite_entry
from refdb.errors import CatalogError, Problem
from refdb.settings import BadSettings, read_mapping
from refdb.site import serving
from refdb.text import counted

# The build, the linker and the checks are imported by the commands that use them, not at
# start: `refdb --help` and `refdb cite` load neither pydantic nor SQLModel nor the linker.

# When the process exits, its last collection would walk every object pydantic, SQLAlchemy
# and the build made, to free memory the exit frees anyway: a tenth of a second of a
# one-second rebuild. Frozen objects are left out of it (a caller's heap stays as it is
# until then).
atexit.register(gc.freeze)

CATALOG = click.option(
    "--catalog",
    "catalog_dir",
    default="catalog",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Catalog directory (systems/ and articles/).",
)
OUTPUT = click.option(
    "--output",
    "-o",
    "db_path",
    default="refdb.db",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file to write.",
)


@click.group()
@click.version_option(package_name="refdb")
def cli() -> None:
    """refdb: a sourced reference database of weapons systems, linked to the news."""


class CommandError(click.ClickException):
    """How every command fails: a message, or the catalog's problems one per line as
    path:line:column, their count and what became of the output (``after``)."""

    def __init__(self, message: str = "", problems: list[Problem] = (), after: str = ""):
        super().__init__(message or f"{counted(len(problems), 'problem')} found.")
        self.problems, self.after = list(problems), after

    def show(self, file=None) -> None:
        if not self.problems:
            return super().show(file)
        for problem in self.problems:
            click.echo(str(problem), err=True)
        click.echo(self.message, err=True)
        if self.after:
            click.echo(self.after, err=True)


@cli.command()
@CATALOG
def check(catalog_dir: Path) -> None:
    """Validate and link the catalog; print every problem as path:line:column."""
    from refdb.check import check as check_catalog

    checked = check_catalog(catalog_dir)
    if checked.problems:
        raise CommandError(problems=checked.problems)
    systems = counted(len(checked.catalog.systems), "system")
    click.echo(f"Catalog OK: {systems}, {counted(checked.articles, 'article')}.")


class TerminalProgress:
    """One click progress bar per stage, on a terminal only."""

    def __init__(self) -> None:
        self.stage, self.bar, self.done = None, None, 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            self.bar = click.progressbar(length=total, label=f"{stage:<18}", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _progress(quiet: bool) -> TerminalProgress | None:
    return None if quiet or not sys.stderr.isatty() else TerminalProgress()


QUIET = click.option("--quiet", "-q", is_flag=True, help="No progress bars.")


def config_options(must_exist: bool):
    """--config and --metadata: Datasette's two files, which citations read too."""

    def option(name: str, default: str, help: str):
        kinds = dict(dir_okay=False, path_type=Path, exists=must_exist)
        return click.option(
            f"--{name}", f"{name}_path", default=default, show_default=True,
            type=click.Path(**kinds), help=help,
        )  # fmt: skip

    config = option(
        "config", "datasette.yaml", "Datasette configuration (plugins.refdb: publisher, base_url)."
    )
    metadata = option("metadata", "metadata.yaml", "Datasette metadata (the publication's title).")
    return lambda command: config(metadata(command))


@cli.command()
@CATALOG
@OUTPUT
@QUIET
@click.option(
    "--no-cache", is_flag=True, help="Redo all work instead of reusing the previous build's."
)
@click.option(
    "--database-url", help="Write to PostgreSQL (postgresql://user@host/db) instead of SQLite."
)
def build(
    catalog_dir: Path, db_path: Path, quiet: bool, no_cache: bool, database_url: str | None
) -> None:
    """Validate the catalog, link mentions and write the database atomically."""
    from refdb.compiling.stat_scan import EarlyScan

    reuse = not no_cache
    # The files are stat-ed while the build's modules load: the two share the cores.
    early = EarlyScan.start(catalog_dir, db_path) if reuse and not database_url else None
    from refdb.compiling.compiler import build as build_database

    progress = _progress(quiet)
    try:
        result = build_database(
            catalog_dir,
            db_path,
            progress=progress,
            reuse=reuse,
            database_url=database_url,
            early_scan=early,
        )
    except CatalogError as error:
        if progress:
            progress.close()
        after = f"Nothing was written; {db_path} is unchanged."
        raise CommandError(problems=error.problems, after=after) from None
    except (OSError, sqlite3.Error) as error:
        raise CommandError(f"could not write {db_path}: {error}; it is unchanged") from None
    if progress:
        progress.close()
    click.echo(result.summary())
    if result.rebuilt_because and not quiet:
        click.echo(f"Built in full, reusing what it could: {result.rebuilt_because}.")


@cli.command("add-article")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@CATALOG
@click.option("--title", help="Headline (default: the file's <h1>, <title> or Markdown heading).")
@click.option(
    "--publisher", help="Publisher id in catalog/publishers.yaml (default: found from --url)."
)
@click.option("--date", required=True, help="Publication date: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--lang", "language", required=True, help="ISO 639-1 language code, e.g. fr.")
@click.option("--url")
def add_article(source, catalog_dir, title, publisher, date, language, url) -> None:
    """Bring a text, Markdown or HTML article into the catalog and say what it names."""
    from refdb import curate

    try:
        article = curate.add_article(
            source,
            catalog_dir,
            title=title,
            publisher=publisher,
            date=date,
            language=language,
            url=url,
        )
    except CatalogError as error:
        raise CommandError(problems=error.problems) from None
    except ValueError as error:
        raise CommandError(str(error)) from None
    click.echo(f"Wrote {article.header} and {article.text_path.name}.")
    click.echo(
        "Systems it mentions: " + (", ".join(f"{i} ({n})" for i, n in article.mentioned) or "none")
    )
    click.echo("Names no entry claims: " + (", ".join(article.unlinked) or "none"))
    if article.left_out:
        click.echo(
            f"Left out of the above: {len(article.left_out)} catalog file(s) with problems "
            f"({', '.join(article.left_out[:3])}{', ...' if len(article.left_out) > 3 else ''}); "
            "`refdb check` lists them."
        )


@cli.command("new-system")
@click.argument("system_id")
@CATALOG
@click.option("--name", help="Canonical English name.")
@click.option("--category", type=click.Choice(list(CATEGORIES)))
@click.option(
    "--country", help="ISO 3166-1 alpha-2 code of the country of origin (SU: Soviet Union)."
)
def new_system(system_id, catalog_dir, name, category, country) -> None:
    """Scaffold a commented entry to fill in; `refdb check` says what is still missing."""
    from refdb import curate

    try:
        path = curate.new_system(
            system_id,
            catalog_dir,
            name=name,
            category=category,
            country=country,
            today=date.today().isoformat(),
        )
    except ValueError as error:
        raise CommandError(str(error)) from None
    click.echo(f"Wrote {path}: fill in its empty values, then run `refdb check`.")


@cli.command()
@click.argument("system_id")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--accessed", type=click.DateTime(formats=["%Y-%m-%d"]), help="Access date (default: today)."
)
@click.option(
    "--database",
    "-d",
    "db_path",
    default="refdb.db",
    show_default=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Built database.",
)
@config_options(must_exist=False)
@click.option("--base-url", help="Base of the entry URLs, e.g. https://refdb.example.org")
@click.option("--version", "version", help="Cite this older version (see /system/ID/history).")
@CATALOG
def cite(
    system_id, fmt, accessed, db_path, config_path, metadata_path, base_url, version, catalog_dir
) -> None:
    """Cite one entry (text, markdown, bibtex, bibtex-misc, csl-json, ris)."""
    try:
        publication = Publication.from_files(config_path, metadata_path)
        settings = Publication.plugin_settings(config_path)
    except BadSettings as error:
        raise CommandError(str(error)) from None
    if base_url:
        publication = replace(publication, base_url=base_url)
        settings = {**settings, "base_url": base_url}
    for warning in publication_warnings(settings):
        click.echo(f"Warning: {warning}.", err=True)
    try:
        click.echo(
            cite_entry(
                system_id,
                db_path,
                fmt,
                accessed.date() if accessed else None,
                publication,
                version=version,
            ),
            nl=False,
        )
    except UnknownEntry as error:
        raise CommandError(str(error) + _stale_hint(system_id, catalog_dir, db_path)) from None
    except (UnknownVersion, NotADatabase) as error:
        raise CommandError(str(error)) from None


@cli.command()
@CATALOG
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def report(catalog_dir: Path, as_json: bool) -> None:
    """What to curate next: the catalog's problems, then unlinked designations, entries never
    mentioned, flags and weakly sourced facts in the files without problems."""
    from refdb.report import build_report

    result = build_report(catalog_dir)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    if result.problems:
        click.echo("Problems (fix these first; what follows covers the other files):")
        for problem in result.problems:
            click.echo(f"  {problem}")
    click.echo("Names in articles that match no entry (add an entry or an alias):")
    for item in result.unlinked_designations:
        click.echo(f"  {item.count:>4}  {item.text:<12} {', '.join(item.articles)}")
        if item.named_in:
            click.echo(
                f"        known to the catalog (named by {', '.join(item.named_in)}); no entry"
            )
        click.echo(f"        « {item.example} »")
    if not result.unlinked_designations:
        click.echo("  none")
    click.echo("Entries no article mentions:")
    click.echo("  " + (", ".join(result.never_mentioned) or "none"))
    click.echo("Articles that mention no entry:")
    click.echo("  " + (", ".join(result.articles_without_mentions) or "none"))
    click.echo("Names without a source (misnomers, shorthands, nicknames and NATO names first):")
    for name in result.unsourced_names:
        click.echo(f"  {name['system_id']:<22} {name['kind']:<16} {name['text']}")
    if not result.unsourced_names:
        click.echo("  none")
    click.echo("Where an article and the catalog disagree:")
    for flag in result.flags:
        click.echo(
            f"  {flag['system_id']:<22} {flag['kind']:<13} {flag['message']} ({flag['article_id']})"
        )
    if not result.flags:
        click.echo("  none")
    for heading, found in (
        (
            "Facts only claims-only publishers back (find an independent source):",
            result.claims_only_facts,
        ),
        ("Facts a single source backs:", result.single_source_facts),
    ):
        click.echo(heading)
        for fact in found:
            click.echo(f"  {fact['system_id']:<22} {fact['fact']} [{', '.join(fact['sources'])}]")
        if not found:
            click.echo("  none")
    _echo_cards(result)


def _echo_cards(result) -> None:
    given = sum(card["given"] for card in result.cards)
    standard = sum(card["standard"] for card in result.cards)
    share = f"{given / standard:.0%}" if standard else "-"
    click.echo(f"Standard cards ({given} of {standard} facts given, {share}; emptiest first):")
    for card in result.cards:
        lacks = f"; not yet: {', '.join(card['missing'])}" if card["missing"] else ""
        lacks = f"(a family: as every version gives it){lacks}" if card["family"] else lacks
        click.echo(f"  {card['system_id']:<22} {card['given']:>2}/{card['standard']:<2}{lacks}")
    two = sum(len(figure["publishers"]) > 1 for figure in result.key_figures)
    click.echo(
        f"Key figures on two or more publishers: {two} of {len(result.key_figures)}"
        " (those on one publisher:)"
    )
    for figure in result.key_figures:
        if len(figure["publishers"]) < 2:
            click.echo(f"  {figure['system_id']:<22} {figure['fact']} [{figure['publishers'][0]}]")


def _stale_hint(system_id: str, catalog_dir: Path, db_path: Path) -> str:
    """Why an entry may be missing from the database: it was built before the entry."""
    from refdb.compiling.provenance import is_current

    if (Path(catalog_dir) / "systems" / f"{system_id}.yaml").exists():
        return (
            f"\nThe catalog has systems/{system_id}.yaml: {db_path} was built before it; "
            "run `refdb build` and cite again."
        )
    if Path(catalog_dir).is_dir() and not is_current(catalog_dir, db_path):
        return f"\n{db_path} is older than the catalog; `refdb build` brings it up to date."
    return ""


def _check_port(host: str, port: int) -> None:
    """Refuse a port another server holds before building, not after."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise CommandError(
                f"cannot listen on {host}:{port} ({error.strerror}); "
                "stop the other server or choose another port with --port"
            ) from None


def _build_if_changed(catalog_dir: Path, db_path: Path) -> None:
    from refdb.compiling.compiler import build as build_database
    from refdb.compiling.provenance import is_current

    if is_current(catalog_dir, db_path):
        click.echo(f"{db_path} is up to date with {catalog_dir}.")
        return
    try:
        result = build_database(catalog_dir, db_path)
    except CatalogError as error:
        if not db_path.exists():
            raise CommandError(problems=error.problems) from None
        after = f"The catalog has problems; serving the previous {db_path}."
        CommandError(problems=error.problems, after=after).show()
    else:
        click.echo(result.summary())


@cli.command()
@CATALOG
@OUTPUT
@config_options(must_exist=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", "-p", default=8001, show_default=True, type=int)
@click.option(
    "--watch",
    is_flag=True,
    help="Rebuild when a catalog file is saved and serve the new database without a restart.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Processes answering requests behind the one port. [default: the machine's cores; "
    "one with --watch]",
)
def serve(catalog_dir, db_path, config_path, metadata_path, host, port, watch, workers) -> None:
    """Build the database if the catalog changed, then serve it read-only with Datasette."""
    from refdb.site import watching

    _check_port(host, port)
    if watch:
        try:
            _build_if_changed(catalog_dir, db_path)
            config, metadata = (read_mapping(p) for p in (config_path, metadata_path))
            watching.serve_watching(
                catalog_dir, db_path, config, metadata, host, port,
                workers or 1, (config_path, metadata_path),
            )  # fmt: skip
        except (OSError, sqlite3.Error, serving.ServingError, BadSettings) as error:
            raise CommandError(f"cannot serve {db_path}: {error}") from None
        return
    workers = workers or os.cpu_count() or 1
    try:
        _build_if_changed(catalog_dir, db_path)
        served = serving.snapshot(db_path)
        options = (served, config_path, metadata_path, host, port, serving.inspect_file(served))
        if workers > 1:
            command, environment = serving.workers_command(*options, workers)
        else:
            command, environment = serving.datasette_command(*options), dict(os.environ)
        serving.hold(served)
    except (OSError, sqlite3.Error, serving.ServingError) as error:
        raise CommandError(f"cannot serve {db_path}: {error}") from None
    click.echo(f"Serving {served} on http://{host}:{port}/ with {counted(workers, 'worker')}")
    os.execve(sys.executable, command, environment)
