"""The talk deck's codec (file and link, read as hostile input) and the offline HTML writer."""

from __future__ import annotations

import base64
import json
import re

import pytest

from dashboard import deck
from dashboard.offline_deck import OfflineSlide, deck_html

PAGES = {"samples", "interpolate", "arithmetic", "map", "game"}
SLIDES = [
    {"title": "A grid", "page": "samples", "query": "seed=40&n=36"},
    {"title": "A walk", "page": "interpolate", "query": "ends=3%2C9&frames=8"},
    {"title": "Hats", "page": "arithmetic", "query": "mode=Components&comp=sefa3&cstrength=2.5"},
]


def file_of(slides, **extra) -> str:
    return json.dumps({"deck": 1, "slides": slides, **extra})


def test_a_deck_round_trips_through_its_file_and_its_link():
    assert deck.read_deck(deck.deck_json(SLIDES), PAGES) == SLIDES
    assert deck.read_deck(deck.deck_json(SLIDES).encode(), PAGES) == SLIDES
    link = deck.deck_link_text(SLIDES)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", link) and len(link) < 400  # small enough for a link
    assert deck.read_deck_link(link, PAGES) == SLIDES


def test_a_query_is_read_with_the_urls_own_schema_and_written_as_sync_url_does():
    assert deck.query_values("seed=40&n=36") == {"seed": 40, "grid_size": 36}
    # defaults are dropped and the presentation flag is the mode, not the view
    slide = deck.make_slide("t", "samples", "n=16&seed=40&present=1", PAGES)
    assert slide["query"] == "seed=40"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("{not json", "not a deck file"),
        ("[" * 300_000 + "]" * 300_000, "larger than"),  # too long, refused before parsing
        ("[" * 50_000 + "]" * 50_000, "not a deck file"),  # deep nesting within the size bound
        (json.dumps([SLIDES]), "not a deck file"),
        (json.dumps({"deck": 2, "slides": SLIDES}), "not a deck file"),
        (file_of(SLIDES, extra=1), "not a deck file"),
        ('{"deck": NaN, "slides": []}', "number JSON does not have"),
        (file_of(SLIDES * 14), "at most 40"),
        (file_of([{"title": "x", "page": "../../etc/passwd", "query": ""}]), "slide 1 was refused: its page"),
        (file_of([SLIDES[0], {"title": "x", "page": "samples", "query": "seed=-4"}]), "slide 2 was refused: its seed"),
        (file_of([{"title": "x", "page": "samples", "query": "evil=1"}]), "does not have"),
        (file_of([{"title": "x", "page": "samples", "query": "seed=1&seed=2"}]), "twice"),
        (file_of([{"title": "x", "page": "samples", "query": "seed"}]), "not a query string"),
        (file_of([{"title": "x", "page": "samples", "query": "n=" + "1" * 13_000}]), "too long"),
        (file_of([{"title": "x" * 101, "page": "samples", "query": ""}]), "its title"),
        (file_of([{"title": "a\nb", "page": "samples", "query": ""}]), "its title"),
        (file_of([{"title": 3, "page": "samples", "query": ""}]), "must be text"),
        (file_of([{"title": "x", "page": "samples"}]), "needs exactly"),
        (b"\xff\xfe{}", "not a deck file"),
    ],
)
def test_a_hostile_deck_file_is_refused_with_one_line(document, reason):
    with pytest.raises(deck.DeckError, match=re.escape(reason)) as refused:
        deck.read_deck(document, PAGES)
    message = str(refused.value)
    assert "\n" not in message and len(message) < 200
    assert "passwd" not in message and "evil" not in message  # never repeats the file's text


def test_a_hostile_deck_link_is_refused():
    with pytest.raises(deck.DeckError, match="longer than"):
        deck.read_deck_link("A" * (deck.MAX_LINK + 1), PAGES)
    with pytest.raises(deck.DeckError, match="base64url"):
        deck.read_deck_link("abc+/=", PAGES)
    bad = base64.urlsafe_b64encode(file_of([{"title": "x", "page": "nowhere", "query": ""}]).encode()).decode()
    with pytest.raises(deck.DeckError, match="its page"):
        deck.read_deck_link(bad.rstrip("="), PAGES)


def test_the_offline_file_embeds_every_picture_and_steps_with_the_arrow_keys():
    png = b"\x89PNG\r\n\x1a\nfake"
    text = deck_html(
        "My talk",
        [
            OfflineSlide("Grid <b>1</b>", "http://x/samples?seed=40", png),
            OfflineSlide("The game", "http://x/game?a=1&b=2", None),
        ],
    )
    assert text.startswith("<!DOCTYPE html>")
    assert text.count('class="slide"') == 2
    assert "data:image/png;base64," + base64.b64encode(png).decode() in text
    assert "Grid &lt;b&gt;1&lt;/b&gt;" in text and "<b>1</b>" not in text  # titles are text, never markup
    assert "http://x/game?a=1&amp;b=2" in text and "live only" in text  # a chart's slide: a card with its link
    assert "ArrowRight" in text and "PageDown" in text
    assert not re.search(r"(src|href)=\"https?://", text)  # nothing fetched: the file works offline
