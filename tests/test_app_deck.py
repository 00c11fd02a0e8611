"""AppTest of the talk deck: add the view on screen from the sidebar; reorder, rename, remove and load on the Deck
page; a slide restores its exact view."""

from __future__ import annotations

import json

import pytest
from app_support import isolate_app, run_view

from dashboard import deck

SLIDES = [
    {"title": "A grid", "page": "samples", "query": "seed=40"},
    {"title": "A walk", "page": "interpolate", "query": "ends=3%2C9&frames=8"},
    {"title": "Big grid", "page": "samples", "query": "seed=7&n=36"},
]


@pytest.fixture
def app_env(tmp_path, monkeypatch, tiny_checkpoint):
    return isolate_app(tmp_path, monkeypatch, tiny_checkpoint)


def titles(at):
    return [slide["title"] for slide in at.session_state[deck.KEY]]


def test_add_this_view_saves_the_page_and_its_link(app_env):
    at = run_view("samples", session_state={deck.CURRENT_PAGE: "samples"}, seed="40")
    assert not at.exception
    at.text_input(key="deck_title").input("Forty")
    at.button(key="deck_add").click().run()
    at.number_input(key="seed").set_value(7).run()
    at.button(key="deck_add").click().run()  # no title: numbered
    assert not at.exception
    assert at.session_state[deck.KEY] == [
        {"title": "Forty", "page": "samples", "query": "ckpt=bundled%2Ftiny&seed=40"},  # as sync_url writes it
        {"title": "Slide 2", "page": "samples", "query": "ckpt=bundled%2Ftiny&seed=7"},
    ]


def test_the_deck_page_reorders_renames_and_removes(app_env):
    at = run_view("deck", session_state={deck.KEY: [dict(s) for s in SLIDES]})
    assert not at.exception
    assert at.button(key="deck_up_0").disabled and at.button(key="deck_down_2").disabled
    at.button(key="deck_down_0").click().run()
    assert titles(at) == ["A walk", "A grid", "Big grid"]
    at.button(key="deck_up_2").click().run()
    assert titles(at) == ["A walk", "Big grid", "A grid"]
    at.button(key="deck_remove_0").click().run()
    assert titles(at) == ["Big grid", "A grid"]
    at.text_input(key="deck_rename_1_A grid").input("The first grid").run()
    assert titles(at) == ["Big grid", "The first grid"]
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["Download the deck (JSON)", "Export for offline (HTML)"]
    link = next(code.value for code in at.main.code if "deck=" in code.value)
    assert deck.read_deck_link(link.split("deck=", 1)[1], {"samples"}) == at.session_state[deck.KEY]


def test_a_deck_file_is_loaded_and_a_hostile_one_refused_in_one_line(app_env):
    at = run_view("deck")
    assert "deck is empty" in at.main.info[0].value
    good = json.dumps({"deck": 1, "slides": SLIDES}).encode()
    at.get("file_uploader")[0].upload("talk.json", good, "application/json").run()
    assert not at.exception and titles(at) == ["A grid", "A walk", "Big grid"]
    bad = json.dumps({"deck": 1, "slides": [{"title": "x", "page": "samples", "query": "seed=nope"}]}).encode()
    at.get("file_uploader")[0].upload("bad.json", bad, "application/json").run()
    assert not at.exception
    assert [e.value for e in at.main.error] == [
        "bad.json: The deck's slide 1 was refused: its seed is not a whole number."
    ]
    assert titles(at) == ["A grid", "A walk", "Big grid"]  # the deck that was there stays


def test_a_slide_restores_every_setting_of_its_view(app_env):
    at = run_view("deck", session_state={deck.KEY: [dict(s) for s in SLIDES], "frames": 30, "seed": 99})
    at.button(key="deck_open_2").click().run()
    assert not at.exception
    assert at.session_state["seed"] == 7 and at.session_state["grid_size"] == 36
    assert at.session_state["frames"] == 16  # left out of the slide: back to its default
    assert at.session_state[deck.POSITION] == 2


def test_the_offline_pictures_are_drawn_for_samples_and_interpolate(app_env):
    from dashboard.views import deck as deck_view

    at = run_view("deck", session_state={deck.KEY: [dict(s) for s in SLIDES]})
    assert not at.exception
    for slide in [*SLIDES, {"page": "arithmetic", "query": "mode=Components&comp=pc2&cstrength=2.5"}]:
        assert deck_view.slide_picture(slide["page"], slide["query"]).startswith(b"\x89PNG"), slide
    assert deck_view.slide_picture("game", "") is None  # a chart: a card in the offline file


def test_a_deck_link_becomes_the_deck_and_a_hostile_one_a_notice(app_env):
    at = run_view("deck", deck=deck.deck_link_text(SLIDES))
    assert not at.exception
    assert at.session_state[deck.KEY] == SLIDES
    assert "deck" not in at.query_params  # read once, then dropped from the address
    at = run_view("deck", deck="e30")  # "{}": not a deck
    assert not at.exception and at.session_state[deck.KEY] == []
    assert any("not a deck file" in toast.value for toast in at.toast)
