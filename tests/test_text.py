"""dashboard.text.plain: text from files and links shows literally in Streamlit's markdown."""

import pytest

from dashboard.text import MAX_SHOWN, plain


@pytest.mark.parametrize(
    "hostile, shown",
    [
        ("![x](http://example.com/t.png)", r"\!\[x\]\(http\://example.com/t.png\)"),
        ("see http://example.com", r"see http\://example.com"),
        ("**bold** _it_ `code` <b>html</b>", r"\*\*bold\*\* \_it\_ \`code\` \<b\>html\</b\>"),
        ("# heading", r"\# heading"),
        ("- item", r"\- item"),
        ("1. item", r"1\. item"),
        ("a | b", r"a \| b"),
        ("$x$", r"\$x\$"),
        ("two\nlines", "two lines"),
        ("broken-run 1.5", "broken-run 1.5"),
    ],
)
def test_markup_is_escaped_and_plain_text_is_unchanged(hostile, shown):
    assert plain(hostile) == shown


def test_long_text_is_cut():
    assert len(plain("x" * 10_000)) == MAX_SHOWN + 1
