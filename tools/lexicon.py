"""python -m tools.lexicon: write models/adapters/lexicon_en.txt.gz, the English words a spelling speech adapter's beam
prefers (models.adapters.ctc_decode.Lexicon).

The WORDS most frequent English words in wordfreq that are spelled only with letters and apostrophes, one per line as
"word<TAB>frequency", where frequency is wordfreq's Zipf value x 100 (log10 of occurrences per billion words, x 100),
most frequent first. Run once by a developer; the file is committed. It is general English (wordfreq's data: books,
subtitles, Wikipedia, web text), not the speech adapter's training text.

Needs `pip install wordfreq==3.1.1`. wordfreq's data is CC BY-SA 4.0 and credits SUBTLEX (Brysbaert et al.) and Google
Books Ngrams: see models/licenses/NOTICE.
"""

from __future__ import annotations

import gzip
import re

from models.adapters.ctc_decode import LEXICON

WORDS = 100_000


def main() -> int:
    from wordfreq import top_n_list, zipf_frequency

    words = [w for w in top_n_list("en", 2 * WORDS) if re.fullmatch(r"[a-z']+", w)][:WORDS]
    lines = "".join(f"{w}\t{round(100 * zipf_frequency(w, 'en'))}\n" for w in words)
    LEXICON.write_bytes(gzip.compress(lines.encode(), mtime=0))
    print(f"{len(words)} words -> {LEXICON} ({LEXICON.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
