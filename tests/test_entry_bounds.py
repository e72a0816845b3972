"""What can grow without bound is paged: an entry named in thousands of sentences still
answers one page and one document of bounded size."""

from __future__ import annotations

import re

from refdb.compiling.compiler import build
from refdb.site.plugin.pages import MAX_CARD_MENTIONS

from conftest import datasette_for, get


def test_an_entry_lists_its_newest_mentions_and_links_to_all_of_them(mini_catalog, tmp_path):
    count = MAX_CARD_MENTIONS + 50
    text = "\n\n".join(f"Report {i}: a Tu-160 flew over the sea." for i in range(count))
    (mini_catalog / "articles" / "bomber-note.txt").write_text(text + "\n")
    path = tmp_path / "refdb.db"
    build(mini_catalog, path)
    ds = datasette_for(path)

    page = get(ds, "/refdb/systems/tu-160").text
    assert len(re.findall(r'class="refdb-mention-link"', page)) == MAX_CARD_MENTIONS
    assert f"The {MAX_CARD_MENTIONS} newest of {count:,} mentions" in page
    assert '<a href="/refdb/mentions?system_id=tu-160">all of them</a>' in page

    document = get(ds, "/system/tu-160.json").json()
    assert len(document["mentions"]) == MAX_CARD_MENTIONS
    assert document["mention_count"] == count
    listed = get(ds, document["all_mentions"].removeprefix("http://localhost")).json()
    assert listed["rows"] and listed["next"]  # the whole list, a page at a time
