"""Which unchanged articles an incremental build links again, and their mentions.

Articles are linked again only where a change can move a mention: an added or edited article,
and an unchanged one where an entry's names changed (an entry renamed, added or removed, an
alias or a form gone or new). That one is found through the previous database: its mentions
under a spelling that changed, its curator anchors on the entry, or its text holding one of
the entry's new spellings (one pass over the articles' compact text). Each such article is
linked against every system a spelling of which begins a word in it, which gives the same
mentions as the whole catalog's linker."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from ahocorasick_rs import AhoCorasick, BytesAhoCorasick, Implementation

from refdb.catalog import crosscheck
from refdb.catalog.schema import SystemEntry
from refdb.compiling.difference import (
    Checked,
    Difference,
    Fallback,
    Previous,
    fallback_on,
    load_articles,
    placeholders,
    rows_where,
)
from refdb.errors import Problem
from refdb.linking import linker
from refdb.text import compact


def to_relink(
    root: Path, diff: Difference, checked: Checked, previous: Previous, letters: set[str]
) -> set[str]:
    """The unchanged articles whose mentions the renamed, added or removed entries can
    change, loaded into ``checked.articles`` with their curator anchors resolved.

    A spelling an entry keeps with the same forms links as before. One it gains, or whose
    forms change, can link wherever an article's compact text holds it; one it loses
    unlinks its mentions, and, where another entry has a form of the same spelling, lets
    that one link where it was beaten before; a curator anchor on the entry may go stale.
    Variant ``letters`` that became or ceased to be a catalogued variant's change how any
    designation followed by them links."""
    gone = diff.removed_systems
    if not (checked.renamed or diff.added_systems or gone):
        return set()
    changed = _changed_keys(checked, diff.added_systems)
    for system_id, key in rows_where(
        previous.db, "select system_id, key from forms", "system_id", gone
    ):
        changed.setdefault(system_id, set()).add(key)
    sought = {
        key
        for system_id, keys in changed.items()
        if system_id in checked.systems
        for key in keys & _patterns(checked.systems[system_id]).keys()
    }
    lost = {key for keys in changed.values() for key in keys} - sought
    sought |= _shared(previous.db, lost, checked.renamed | gone)
    if letters:
        sought |= _followed_by(previous, checked, diff.added_systems, letters)
    skip = diff.articles | diff.removed_articles
    found = _containing(sought, _may_hold(sought, previous.texts(skip)))
    found |= _mentioning(previous.db, changed)
    found |= _anchoring(previous.db, checked.renamed | gone)
    found -= skip
    problems: list[Problem] = []
    relinked = load_articles(root, diff.files, found, problems)
    problems += crosscheck.check_article_anchors(relinked, checked.ids)
    fallback_on(problems)
    checked.articles |= relinked
    return found


def _patterns(entry: SystemEntry) -> dict[str, tuple]:
    """Compact key -> the entry's forms of that spelling, in order: what the whole catalog's
    automaton holds of this entry under that key."""
    found: dict[str, list] = {}
    for form in linker.forms_of(entry):
        key = compact(form.text)
        if key:
            found.setdefault(key, []).append(form)
    return {key: tuple(forms) for key, forms in found.items()}


def _changed_keys(checked: Checked, added: set[str]) -> dict[str, set[str]]:
    """Entry id -> the spellings whose forms differ between the previous build and now."""
    changed = {}
    for system_id in checked.renamed | added:
        old = _patterns(checked.before[system_id]) if system_id in checked.before else {}
        new = _patterns(checked.systems[system_id])
        changed[system_id] = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    return changed


def _followed_by(previous: Previous, checked: Checked, added, letters: set[str]) -> set[str]:
    """Every designation's spelling (then or now) followed by one of ``letters``, compacted:
    what an article holds where a designation is followed by them, spaced or not."""
    keys = previous.form_keys()
    for system_id in checked.renamed | added:
        keys |= _patterns(checked.systems[system_id]).keys()
    tails = {compact(text) for text in letters}
    return {key + tail for key in keys if any(ch.isdigit() for ch in key) for tail in tails}


def _shared(db, keys: set[str], skip: set[str]) -> set[str]:
    """Those of ``keys`` that a form of another entry (not of ``skip``) has too."""
    return {
        key
        for system_id, key in rows_where(db, "select system_id, key from forms", "key", keys)
        if system_id not in skip
    }


def _mentioning(db, changed: dict[str, set[str]]) -> set[str]:
    """Articles with a mention of these entries under a changed spelling (or by a curator)."""
    found = set()
    sql = "select article_id, system_id, form from mentions"
    for article_id, system_id, form in rows_where(db, sql, "system_id", changed):
        if form is None or compact(form) in changed[system_id]:
            found.add(article_id)
    return found


def _anchoring(db, system_ids: set[str]) -> set[str]:
    """Unchanged articles whose curator anchors name one of these entries, as the previous
    database recorded them (``articles.anchored``): no header is read."""
    if not system_ids:
        return set()
    found = set()
    for article_id, anchored in db.execute(
        "select id, anchored from articles where anchored != ''"
    ):
        if system_ids.intersection(anchored.split()):
            found.add(article_id)
    return found


def _may_hold(keys: set[str], texts):
    """The ``(id, text)`` that can hold one of ``keys``, as far as their digits tell: in a
    text whose compact form holds a key, the key's digits stand together once separators
    and all but ASCII are left out. All of them when a key has no digit, or when so many are
    sought that an automaton's one pass is quicker."""
    runs = set()
    for key in keys:
        digits = re.findall(r"[0-9]+", key)
        if not digits:
            yield from texts
            return
        runs.add(max(digits, key=len).encode())
    if len(runs) >= FEW_KEYS:
        yield from texts
        return
    for text_id, text in texts:
        skeleton = text.encode("utf-8", "surrogatepass").translate(None, _NOT_IN_SKELETON)
        if any(run in skeleton for run in runs):
            yield text_id, text


# What a text's digits skeleton leaves out: every byte of a character beyond ASCII, and the
# ASCII characters compact text drops (spaces, hyphens, apostrophes).
_NOT_IN_SKELETON = bytes(b for b in range(256) if b > 0x7F or not compact(chr(b)))


# Single-byte code pages most press text is written in. A text one of them encodes is
# compacted by one ``bytes.translate`` (the compact form of each of its characters is one
# character of the same code page, or nothing), far faster than character by character.
_CODE_PAGES = ("cp1252", "cp1251", "cp1250")


@functools.cache
def _code_page(codec: str) -> tuple[bytes, bytes] | None:
    """The byte table and the bytes to delete that compact a text encoded in ``codec``; None
    when a character of it compacts to something the code page cannot write."""
    table, dropped = bytearray(range(256)), bytearray()
    for byte in range(256):
        try:
            kept = compact(bytes([byte]).decode(codec))
        except UnicodeDecodeError:
            continue  # no character encodes to it
        try:
            written = kept.encode(codec)
        except UnicodeEncodeError:
            return None
        if len(written) > 1:
            return None
        if written:
            table[byte] = written[0]
        else:
            dropped.append(byte)
    return bytes(table), bytes(dropped)


def _compacted(text: str) -> tuple[str | None, bytes | str]:
    """(code page, the compact text written in it), or (None, the compact text) when no code
    page writes the whole text."""
    for codec in _CODE_PAGES:
        tables = _code_page(codec)
        if tables is None:
            continue
        try:
            encoded = text.encode(codec)
        except UnicodeEncodeError:
            continue
        return codec, encoded.translate(*tables)
    return None, compact(text)


def _containing(keys: set[str], texts) -> set[str]:
    """Ids of the ``(id, text)`` whose compact text holds one of ``keys``."""
    if not keys:
        return set()
    finders: dict = {}
    found = set()
    for text_id, text in texts:
        codec, compacted = _compacted(text)
        if codec not in finders:
            finders[codec] = _finder(keys, codec)
        if finders[codec](compacted):
            found.add(text_id)
    return found


FEW_KEYS = 16  # below this many, one search per key beats an automaton's pass


def _finder(keys: set[str], codec: str | None):
    """Whether a text ``_compacted`` wrote in ``codec`` holds one of ``keys`` (one it cannot
    write cannot occur in a text it writes)."""
    written = []
    for key in sorted(keys):
        try:
            written.append(key if codec is None else key.encode(codec))
        except UnicodeEncodeError:
            continue
    if len(written) < FEW_KEYS:
        return lambda compacted: any(key in compacted for key in written)
    if codec is None:
        automaton = AhoCorasick(written, implementation=Implementation.ContiguousNFA)
    else:  # the text comes as bytes of the code page: search them as bytes
        automaton = BytesAhoCorasick(written, implementation=Implementation.ContiguousNFA)
    return lambda compacted: bool(automaton.find_matches_as_indexes(compacted))


def variant_letters(previous: Previous, diff: Difference, checked: Checked):
    """The variant letters the catalog's designations end with now, as the whole catalog's
    linker knows them, and those that were or are such letters but are not both: wherever
    an article writes them after a designation and a space, the linker reads them otherwise."""
    replaced = checked.renamed | diff.removed_systems
    new = [checked.systems[key] for key in checked.renamed | diff.added_systems]
    now = VariantLetters(previous.db, replaced, _letters_of(new))
    old = _letters_of(checked.before[key] for key in checked.renamed)
    gone = rows_where(previous.db, "select text from forms", "system_id", diff.removed_systems)
    old |= {suffix for (text,) in gone if (suffix := _variant(text))}
    moved = {letters for letters in old ^ now.new if not now.elsewhere(letters)}
    return now, moved


class VariantLetters:
    """The variant letters of every catalogued designation, each looked up when the linker
    asks (``letters in``): in the ``forms`` table, the rows of the ``replaced`` entries aside,
    and among the ``new`` entries' letters. Reading every form for them cost more than the
    few questions a patch's articles ask."""

    def __init__(self, db, replaced: set[str], new: set[str]):
        self.db, self.replaced, self.new = db, sorted(replaced), new
        self.asked: dict[str, bool] = {}

    def __contains__(self, letters: str) -> bool:
        return letters in self.new or self.elsewhere(letters)

    def elsewhere(self, letters: str) -> bool:
        """Whether a form of an entry not replaced ends with a digit and these letters, as
        ``linker._FORM_SUFFIX`` reads a form's variant."""
        if letters not in self.asked:
            found = self.db.execute(  # "$" matches before a final newline too
                f"select 1 from forms where (text glob ? or text glob ?) and system_id not in "
                f"({placeholders(self.replaced)}) limit 1",
                [f"*[0-9]{letters}", f"*[0-9]{letters}\n", *self.replaced],
            )
            self.asked[letters] = found.fetchone() is not None
        return self.asked[letters]


def _letters_of(entries) -> set[str]:
    return {
        suffix for entry in entries for f in linker.forms_of(entry) if (suffix := _variant(f.text))
    }


def _variant(text: str) -> str | None:
    suffix = linker._FORM_SUFFIX.search(text)
    return suffix.group(1) if suffix else None


# --- linking ------------------------------------------------------------------------------


def link(previous: Previous, diff: Difference, checked: Checked, article_ids, letters):
    """The mentions of these articles, linked against the systems one of whose forms begins a
    word in them: exactly what the whole catalog's linker finds there (other systems have no
    form that could match, and a spelling's forms come in the catalog's order). ``letters``
    are the variant letters of every catalogued designation."""
    if not article_ids:
        return []
    keys = previous.form_keys()
    new = {key: _patterns(checked.systems[key]) for key in checked.renamed | diff.added_systems}
    keys |= {key for patterns in new.values() for key in patterns}
    lengths = sorted(set(map(len, keys)))
    found = set()
    for article_id in article_ids:
        found |= _spelled_in(checked.articles[article_id].text, keys, lengths)
    candidates = {
        system_id
        for owners in previous.owners(found, checked.renamed | diff.removed_systems).values()
        for system_id in owners
    }
    candidates |= {system_id for system_id, patterns in new.items() if found & patterns.keys()}
    entries = previous.entries(candidates - checked.systems.keys())
    entries |= {key: checked.systems[key] for key in candidates & checked.systems.keys()}
    automaton = linker.Linker([entries[key] for key in sorted(entries)])
    automaton.suffixes = letters
    mentions = []
    for article_id in sorted(article_ids):
        article = checked.articles[article_id]
        try:
            mentions += linker.link_article(automaton, article.entry, article.text, article.anchors)
        except linker.AnchorError as error:
            raise Fallback("a stale anchor: the clean path reports it") from error
    return mentions


def _spelled_in(text: str, keys: set[str], lengths: list[int]) -> set[str]:
    """Those of ``keys`` (of these ``lengths``) that begin a word of ``text`` once compacted:
    the spellings under which the linker can find a system there."""
    compacted, starts = _word_starts(text)
    found = set()
    for start in starts:
        for length in lengths:
            key = compacted[start : start + length]
            if len(key) < length:
                break
            if key in keys:
                found.add(key)
    return found


def _word_starts(text: str) -> tuple[str, list[int]]:
    """The compact text, and the offsets in it of the characters that no letter or digit
    precedes in ``text``: where the linker lets a name begin."""
    kept, starts, after_alnum = 0, [], False
    for char in text:
        if _kept(char):
            if not after_alnum:
                starts.append(kept)
            kept += 1
        after_alnum = char.isalnum()
    return compact(text), starts


@functools.cache
def _kept(char: str) -> bool:
    return bool(compact(char))
