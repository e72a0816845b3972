"""Stage 2, link: a validated catalog in, each article's mentions out.

``linker`` finds every form of every entry's names in a text (one Aho-Corasick pass, then
the rules that keep or drop a match: context words, persons behind a ship's name, gun
calibres...), ``sentences`` cuts the sentence a mention stands in, ``articles`` runs the
linker over every article on every core with the build cache, and ``consistency`` flags
what an article says against what the catalog records.
"""
