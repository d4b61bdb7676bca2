"""Paragraph-level boilerplate and spam removal.

A jusText-style classifier (jusText's English stop list; its length and stop-word-density classes and
its context rule for short paragraphs), extended with signals jusText takes from HTML and plain text
lacks: web-furniture vocabulary, comment sections, keyword stuffing, non-prose lines and paragraphs
repeated within a document or across documents. Nothing here names a particular site or text.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rag.types import Paragraph

# 2: prose in caseless scripts (Arabic, Hebrew, CJK) is no longer dropped; 3: over-long blocks are
# judged in pieces; 4: technical prose repeating its subject is not spam, long lists of names are
# judged by their neighbours; 5: OCR text (images, scanned PDF pages) is kept whole
CLEANER_VERSION = "5"

_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_WS = re.compile(r"\s+")
_BULLET = re.compile(r"^\s*(?:[-*•·▪◦●‣]|\d{1,3}[.)])\s+")
_KEY = re.compile(r"[\W_]+")
_SENTENCE_END = re.compile(r"(?:[.!?][\"'”’)\]]*\s|[。！？])")

# A block longer than this is not one paragraph but a page that lost its breaks (a whole book on one
# line): the jusText rules, made for paragraphs, would judge it as one, and one term it repeats would
# make the whole of it "spam". It is judged in pieces of about PIECE_CHARS, cut at sentence ends.
BLOCK_MAX_CHARS = 4000
PIECE_CHARS = 2000

# Words of page furniture: navigation, sharing, newsletters, cookies, widgets, contact banners.
_FURNITURE = re.compile(
    r"\b(?:skip (?:over |to )?(?:the )?(?:main )?(?:navigation|content|page content)"
    r"|access key|back to (?:top|index|news|home)|top of (?:the )?page|index of items|news items index"
    r"|newsletter|sign[ -]?up|sign[ -]?in|log[ -]?in|subscribe|unsubscribe|opt[ -]out"
    r"|privacy policy|cookies?|terms (?:of|and) (?:use|service|conditions)|all rights reserved"
    r"|share (?:this|on)|follow us|read more|more from|click here|rss feed|this (?:blog|site|website)"
    r"|related (?:articles|posts|stories|content)|tags?(?: assigned)?(?: to this)?(?: article)?:"
    r"|tag archives?|upcoming events?|next (?:upcoming )?event|call us|call local rate"
    r"|opening hours|help (?:&|and) advice|\[email[^\]]*\])",
    re.IGNORECASE,
)
# A comment section starts here; everything after it is readers' comments, not the article.
_COMMENTS_START = re.compile(
    r"^(?:comments?\s*(?:\(\d+\))?:?|\d+\s+(?:comments?|responses?|replies)|"
    r"(?:leave|post|add) a (?:comment|reply|response).*|comments are (?:closed|disabled)\.?|"
    r"\d+\.\s+.{1,60}\s+says:)$",
    re.IGNORECASE,
)
_SPAM_WORDS = re.compile(
    r"\b(?:replicas?|counterfeit|viagra|cialis|casino|payday|porn|xxx|escorts?|bitcoin doubler)\b",
    re.IGNORECASE,
)

# jusText's defaults for English.
LENGTH_LOW, LENGTH_HIGH = 70, 200
STOPWORDS_LOW, STOPWORDS_HIGH = 0.30, 0.32
# A long list of names still joins them with a few stop words ("and", "of", "the"); random letters
# (a base64 dump) hit one by chance in well under 1% of their runs.
LIST_STOPWORDS = 0.10


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    text: str


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    import justext

    return frozenset(w.lower() for w in justext.get_stoplist("English"))


def split_paragraphs(text: str) -> list[_Block]:
    """Blocks between blank lines; a block whose lines are whole paragraphs (long or bulleted
    lines, as scraped pages have) is split into lines, a hard-wrapped block is kept whole."""
    blocks: list[_Block] = []
    pos = 0
    for m in [*_BLANK_LINE.finditer(text), None]:
        end = m.start() if m else len(text)
        _add_block(text, pos, end, blocks)
        pos = m.end() if m else len(text)
    return blocks


def _add_block(text: str, start: int, end: int, out: list[_Block]) -> None:
    lines, offset = [], start
    for line in text[start:end].split("\n"):
        lines.append((offset, offset + len(line), line))
        offset += len(line) + 1
    lines = [x for x in lines if x[2].strip()]
    if not lines:
        return
    one_per_line = len(lines) > 1 and (
        max(len(x[2].strip()) for x in lines) > 120 or sum(bool(_BULLET.match(x[2])) for x in lines) >= 2
    )
    spans = [(s, e) for s, e, _ in lines] if one_per_line else [(lines[0][0], lines[-1][1])]
    for s, e in (trimmed(text, a, b) for a, b in spans):
        for ps, pe in _pieces(text, s, e) if e - s > BLOCK_MAX_CHARS else [(s, e)]:
            out.append(_Block(ps, pe, _WS.sub(" ", text[ps:pe])))


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """`text[start:end]` without whitespace at its edges, as offsets: a block, or a reader's span (a
    SentencePiece piece, "▁Helen", carries the space before its word in its offsets)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """`text[start:end]` cut into pieces of at most PIECE_CHARS: after the last sentence end in a
    piece's second half, else at its last space, else (a run without either) at the limit."""
    pieces = []
    while end - start > PIECE_CHARS:
        limit = start + PIECE_CHARS
        ends = [m.end() for m in _SENTENCE_END.finditer(text, start + PIECE_CHARS // 2, limit)]
        space = text.rfind(" ", start + 1, limit)
        cut = ends[-1] if ends else space + 1 if space > start else limit
        stop = cut
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        pieces.append((start, stop))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def paragraph_key(text: str) -> str:
    """Normalised form for spotting repeats (case, quotes and punctuation ignored)."""
    return _KEY.sub(" ", text.lower()).strip()


def _furniture_share(text: str, n_words: int) -> float:
    hits = sum(len(_WORD.findall(m.group(0))) or 1 for m in _FURNITURE.finditer(text))
    return hits / max(n_words, 1)


# Words of selling. Keyword stuffing sells: it repeats a product's name among them ("cheap designer
# handbags ... buy designer handbags online ... discount designer handbags"). Technical prose repeats
# its subject as often ("the Turing machine", "Notre Dame") but sells nothing: on the 18,896
# paragraphs of SQuAD's training articles, no paragraph with a repeated pair uses more than four of
# these words, where a stuffed one uses them throughout.
_SELLING = re.compile(
    r"\b(?:buy(?:ing)?|cheap(?:er|est)?|sales?|discounts?|discounted|outlets?|shop(?:ping)?|stores?"
    r"|orders?|prices?|deals?|offers?|wholesale|online|shipping|delivery|delivered|free|best"
    r"|quality|authentic|genuine|brands?|replicas?|lowest|bargains?)\b",
    re.IGNORECASE,
)
SELLING_MIN = 5  # distinct selling words that, with a repeated pair, make a paragraph stuffing


def _is_stuffed(text: str, words: list[str]) -> bool:
    """Keyword stuffing: one pair of content words makes up a large share of a paragraph that sells."""
    stop = stopwords()
    pairs = Counter(p for p in itertools.pairwise(words) if p[0] not in stop and p[1] not in stop)
    if not pairs:
        return False
    count = pairs.most_common(1)[0][1]
    if count < 3 or 2 * count / len(words) < 0.08:
        return False
    return len({m.lower() for m in _SELLING.findall(text)}) >= SELLING_MIN


def _initial_class(block: _Block, seen: set[str], repeated: frozenset[str]) -> tuple[str, str]:
    """('good'|'neargood'|'short'|'bad', reason) from the paragraph alone."""
    text = block.text
    words = [w.lower() for w in _WORD.findall(text)]
    n = len(words)
    key = paragraph_key(text)
    letters = sum(c.isalpha() for c in text)
    visible = sum(not c.isspace() for c in text)
    if n == 0 or letters / max(visible, 1) < 0.5:
        return "bad", "not prose (numbers or symbols)"
    if key in seen:
        return "bad", "duplicate of an earlier paragraph"
    if key in repeated:
        return "bad", "repeated across documents"
    furniture = _furniture_share(text, n)
    if furniture >= 0.2 or (n <= 12 and furniture > 0):
        return "bad", "page furniture (navigation, widgets, sign-up)"
    if len(_SPAM_WORDS.findall(text)) >= 2 or _is_stuffed(text, words):
        return "bad", "spam"
    stop = sum(w in stopwords() for w in words) / n
    # Share of words not capitalised (names, banners are): caseless scripts count as lower case.
    lower = sum(not w[0].isupper() for w in _WORD.findall(text)) / n
    if len(text) < LENGTH_LOW:
        return "short", "short"
    if len(text) >= LENGTH_HIGH and stop >= STOPWORDS_HIGH:
        return "good", "content"
    if stop >= STOPWORDS_LOW or lower >= 0.6 or (len(text) >= LENGTH_HIGH and stop >= LIST_STOPWORDS):
        # a long list of names or terms is judged by its neighbours: content inside an article,
        # boilerplate among boilerplate (a data dump, with next to no stop words, is not a list)
        return "neargood", "content"
    return "bad", "few stop words (lists of names, banners)"


def _nearest(classes: list[str], i: int, step: int, skip: tuple[str, ...]) -> str | None:
    j = i + step
    while 0 <= j < len(classes):
        if classes[j] not in skip:
            return classes[j]
        j += step
    return None


def _heading_before_content(classes: list[str], i: int, reach: int = 2) -> bool:
    """A short line within `reach` paragraphs before content reads as its heading or lead-in."""
    for j in range(i + 1, min(i + 1 + reach + 1, len(classes))):
        if classes[j] in ("good", "neargood"):
            return True
        if classes[j] != "short" and j > i + reach - 1:
            return False
    return False


def classify(
    text: str,
    repeated: frozenset[str] = frozenset(),
    *,
    keep_all: bool = False,
    scanned: tuple[tuple[int, int], ...] = (),
) -> list[Paragraph]:
    """Split `text` into paragraphs and decide for each whether it is article content. With
    `keep_all` (structured documents: spreadsheet rows, slides, e-mail headers) every one is kept;
    so is every one inside a `scanned` (start, end) span (OCR text: a scanned letter's letterhead,
    date and signature are short lines the web rules would drop, and a scan has no web furniture)."""
    blocks = split_paragraphs(text)
    if keep_all:
        return [Paragraph(b.start, b.end, b.text, True, "structured document") for b in blocks]
    seen: set[str] = set()
    classes: list[str] = []
    reasons: list[str] = []
    in_comments = False
    for block in blocks:
        if any(start <= block.start < end for start, end in scanned):
            cls, reason = "good", "scanned page (OCR)"
        elif in_comments or _COMMENTS_START.match(block.text.strip()):
            in_comments = True
            cls, reason = "bad", "comment section"
        else:
            cls, reason = _initial_class(block, seen, repeated)
        seen.add(paragraph_key(block.text))
        classes.append(cls)
        reasons.append(reason)

    final = list(classes)
    has_good = "good" in classes
    for i, cls in enumerate(classes):
        if cls == "neargood":
            prev = _nearest(classes, i, -1, ("short", "neargood"))
            nxt = _nearest(classes, i, 1, ("short", "neargood"))
            if has_good and {prev, nxt} <= {"bad", None}:
                final[i], reasons[i] = "bad", "weak content among boilerplate"
            else:
                final[i] = "good"
        elif cls == "short":
            prev = _nearest(classes, i, -1, ("short",))
            nxt = _nearest(classes, i, 1, ("short",))
            if _heading_before_content(classes, i):
                final[i], reasons[i] = "good", "heading"
            elif prev in ("good", "neargood") and nxt in ("good", "neargood"):
                final[i], reasons[i] = "good", "short, inside content"
            else:
                final[i], reasons[i] = "bad", "short, outside content"
    return [Paragraph(b.start, b.end, b.text, final[i] == "good", reasons[i]) for i, b in enumerate(blocks)]


def repeated_keys(key_sets: Iterable[Iterable[str]], min_docs: int = 3) -> frozenset[str]:
    """Paragraph keys found in at least `min_docs` documents: site-wide furniture."""
    counts: Counter[str] = Counter()
    for keys in key_sets:
        counts.update(set(keys))
    return frozenset(k for k, c in counts.items() if c >= min_docs)


FURNITURE_MAX_CHARS = 120  # between jusText's short (70) and long (200) bounds


def furniture_keys(text: str) -> list[str]:
    """Keys of a document's short paragraphs. Only short ones count as cross-document repeats: site
    furniture is short lines, while prose shared by versions of one report is content."""
    return sorted(
        {paragraph_key(b.text) for b in split_paragraphs(text) if len(b.text) <= FURNITURE_MAX_CHARS}
    )
