"""Listening: monitor queries and what they match, as pure functions.

A query reads like a search box: words side by side must all appear (AND), `OR` (or
`|`) offers alternatives, `NOT` or a leading `-` excludes, "double quotes" keep an exact
phrase, parentheses group. Matching folds case and full-width forms. Latin words match
whole words ("sale" does not match "wholesale"); Chinese has no spaces, so a Chinese
term matches as a substring (退款 matches 我要退款).

Top terms use jieba for Chinese when it is installed and plain word splitting otherwise.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache


class QueryError(ValueError):
    """The query cannot be read; the message says where."""


@dataclass(frozen=True)
class Term:
    text: str  # folded
    phrase: bool = False


@dataclass(frozen=True)
class Not:
    node: object


@dataclass(frozen=True)
class All:
    nodes: tuple[object, ...]


@dataclass(frozen=True)
class Any:
    nodes: tuple[object, ...]


TOKEN = re.compile(r'\s*(?:(?P<phrase>"[^"]*"?)|(?P<op>[()|])|(?P<word>[^\s()|"]+))')
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _tokens(query: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    query = query.strip()
    while position < len(query):
        match = TOKEN.match(query, position)
        if not match or match.end() == position:
            break
        position = match.end()
        if match.group("phrase") is not None:
            raw = match.group("phrase")
            if len(raw) < 2 or not raw.endswith('"'):
                raise QueryError("a quoted phrase is not closed")
            tokens.append(("phrase", raw[1:-1]))
        elif match.group("op"):
            tokens.append(("op", "OR" if match.group("op") == "|" else match.group("op")))
        else:
            word = match.group("word")
            if word in ("AND", "OR", "NOT"):
                tokens.append(("op", word))
            elif word.startswith("-") and len(word) > 1:
                tokens += [("op", "NOT"), ("word", word[1:])]
            else:
                tokens.append(("word", word))
    return tokens


def parse(query: str) -> object:
    tokens = _tokens(query)
    if not tokens:
        raise QueryError("the query is empty")
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def any_of() -> object:
        nodes = [all_of()]
        while peek() == ("op", "OR"):
            take()
            nodes.append(all_of())
        return nodes[0] if len(nodes) == 1 else Any(tuple(nodes))

    def all_of() -> object:
        nodes = [unary()]
        while (token := peek()) is not None and token not in (("op", "OR"), ("op", ")")):
            if token == ("op", "AND"):
                take()
            nodes.append(unary())
        return nodes[0] if len(nodes) == 1 else All(tuple(nodes))

    def unary() -> object:
        token = peek()
        if token == ("op", "NOT"):
            take()
            return Not(unary())
        return primary()

    def primary() -> object:
        token = peek()
        if token is None:
            raise QueryError("the query ends where a word was expected")
        take()
        if token == ("op", "("):
            node = any_of()
            if peek() != ("op", ")"):
                raise QueryError("a parenthesis is not closed")
            take()
            return node
        if token[0] == "op":
            raise QueryError(f"unexpected {token[1]}")
        text = fold(token[1])
        if not text:
            raise QueryError("an empty phrase")
        return Term(text=text, phrase=token[0] == "phrase")

    node = any_of()
    if position != len(tokens):
        raise QueryError(f"unexpected {tokens[position][1]}")
    return node


@lru_cache(maxsize=4096)
def _term_pattern(text: str) -> re.Pattern[str]:
    escaped = re.escape(text)
    # Whole words for Latin edges; CJK edges have no word boundary to respect.
    left = "" if CJK.match(text[0]) else r"(?<!\w)"
    right = "" if CJK.match(text[-1]) else r"(?!\w)"
    return re.compile(left + escaped + right)


def matches(node: object, text: str, *, folded: bool = False) -> bool:
    haystack = text if folded else fold(text)
    if isinstance(node, Term):
        return bool(_term_pattern(node.text).search(haystack))
    if isinstance(node, Not):
        return not matches(node.node, haystack, folded=True)
    if isinstance(node, All):
        return all(matches(child, haystack, folded=True) for child in node.nodes)
    if isinstance(node, Any):
        return any(matches(child, haystack, folded=True) for child in node.nodes)
    raise TypeError(node)


# --- top terms ---------------------------------------------------------------------------

STOPWORDS = frozenset(
    "the a an and or but of to in on for with at by from is are was were be been it this that these those i you he "
    "she we they my your our their me him her them as not no so if do does did have has had will would can could "
    "just very really too also about what when where who how why all any some more most rt http https www com "
    "的 了 是 我 你 他 她 它 们 在 有 和 就 不 都 也 很 还 吗 吧 啊 呢 哦 嗯 这 那 个 一 上 下 到 说 要 去 会 着 没有 "
    "我们 你们 他们 自己 什么 一个 没 把 被 让 给 与 及 或 但 而 并 如果 因为 所以".split()
)
WORD = re.compile(r"[^\W\d_]{2,}|\d{3,}", re.UNICODE)


def _segment(text: str) -> Iterable[str]:
    if CJK.search(text):
        try:
            import jieba
        except ImportError:  # without jieba: CJK runs as whole tokens
            yield from WORD.findall(text)
            return
        jieba.setLogLevel(logging.WARNING)  # not its dictionary-loading chatter on every worker start
        yield from jieba.cut(text)
    else:
        yield from WORD.findall(text)


def top_terms(texts: Iterable[str], *, limit: int = 20, exclude: Iterable[str] = ()) -> list[tuple[str, int]]:
    skip = STOPWORDS | {fold(word) for word in exclude}
    counts: Counter[str] = Counter()
    for text in texts:
        for token in _segment(fold(text)[:2000]):
            token = token.strip()
            if len(token) < 2 and not CJK.match(token or " "):
                continue
            if len(token) < 2 or token in skip or not any(ch.isalnum() for ch in token):
                continue
            counts[token] += 1
    return counts.most_common(limit)


def query_terms(node: object) -> list[str]:
    """The positive terms of a query (excluded from its own top terms)."""
    if isinstance(node, Term):
        return [node.text]
    if isinstance(node, (All, Any)):
        return [term for child in node.nodes for term in query_terms(child)]
    return []
