"""Monitor queries (pure): AND / OR / NOT, exact phrases, Chinese and English, errors, top terms."""

from __future__ import annotations

import pytest

from engagement.inbox.listening import QueryError, matches, parse, query_terms, top_terms


def hit(query: str, text: str) -> bool:
    return matches(parse(query), text)


def test_words_side_by_side_must_all_appear():
    assert hit("refund slow", "The refund is so slow")
    assert not hit("refund slow", "The refund arrived")
    assert hit("refund AND slow", "slow refund")


def test_or_and_pipe_offer_alternatives():
    assert hit("refund OR return", "I want to return it")
    assert hit("refund | return", "refund please")
    assert not hit("refund OR return", "nice shoes")


def test_not_and_minus_exclude():
    assert hit("shoes -sale", "love these shoes")
    assert not hit("shoes -sale", "shoes on sale")
    assert not hit("shoes NOT sale", "shoes on SALE")


def test_exact_phrases_keep_word_order():
    assert hit('"customer service"', "Your Customer  Service is great")
    assert not hit('"customer service"', "service for every customer")


def test_latin_words_match_whole_words_only():
    assert not hit("sale", "wholesale prices")
    assert hit("sale", "Sale! 50%")


def test_chinese_terms_match_inside_sentences():
    assert hit("退款", "我要退款，太慢了")
    assert hit("退款 慢", "退款太慢了")
    assert hit('"客服态度" OR 投诉', "我要投诉你们")
    assert not hit("退款 -已经", "退款已经到账")
    assert hit("ＳＡＬＥ", "big sale today")  # full-width letters fold


def test_grouping_with_parentheses():
    query = '(refund OR 退款) AND NOT "thank you"'
    assert hit(query, "退款呢?")
    assert not hit(query, "refund received, thank you")


@pytest.mark.parametrize("bad", ["", '"open phrase', "(refund", "refund OR", "NOT", ")"])
def test_unreadable_queries_are_refused(bad):
    with pytest.raises(QueryError):
        parse(bad)


def test_query_terms_are_the_positive_words():
    assert query_terms(parse('shoes (sale OR "big deal") -fake')) == ["shoes", "sale", "big deal"]


def test_top_terms_skip_stopwords_and_segment_chinese():
    texts = ["这个手机的电池很好", "我的手机的电池不耐用", "The battery of this phone is great", "battery battery"]
    terms = dict(top_terms(texts, limit=10))
    assert terms["battery"] == 3
    assert terms.get("手机") == 2 and terms.get("电池") == 2
    assert "the" not in terms and "的" not in terms
