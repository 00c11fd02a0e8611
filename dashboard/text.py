"""Text from files, folders and links, made safe to show in Streamlit's markdown.

Checkpoint metadata, upload names, run names and error messages that quote them come from strangers. Streamlit
renders labels, captions, toasts and alerts as markdown, where ``![](http://…)`` makes the browser fetch an
outside image and ``http://…`` becomes a clickable link. ``plain`` escapes every markdown character (and the
colon of a bare URL), so the text shows exactly as written and nothing in it is followed.
"""

from __future__ import annotations

import re

# Inline markup, links and images, headings, HTML, tables, strikethrough, maths, and the colon of autolinks.
MARKDOWN_CHARACTERS = re.compile(r"([\\`*_\[\]()#!<>|~$:])")
LIST_START = re.compile(r"^([-+=]|\d+(?=[.)]))")  # "- x", "+ x", "1. x" open a list, "=" underlines a heading
MAX_SHOWN = 500  # characters: the schema bounds metadata, but a message quoting it need not be a wall of text


def plain(text) -> str:
    """``text`` as one line of literal characters for st.markdown, st.caption, st.error, st.toast and labels."""
    line = " ".join(str(text).split())
    if len(line) > MAX_SHOWN:
        line = line[:MAX_SHOWN] + "…"
    line = MARKDOWN_CHARACTERS.sub(r"\\\1", line)
    return LIST_START.sub(
        lambda match: match.group(0) + "\\" if match.group(0)[0].isdigit() else "\\" + match.group(0), line, count=1
    )
