"""The deck as one self-contained HTML file: the speaker's backup when the server, the laptop or the network fails.

A pure function of plain values (titles, links, PNG bytes): no Streamlit, no model. Every picture is embedded as a
base64 PNG and the arrow keys step through the slides with a few lines of inline script, so the file opens from disk
in any browser with nothing else reachable.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass


@dataclass(frozen=True)
class OfflineSlide:
    title: str
    link: str  # the live view's link, shown on the slide (and under a placeholder)
    png: bytes | None  # the slide's key picture; None draws a titled card with the link instead


_STYLE = """
html, body { margin: 0; height: 100%; background: #111; color: #eee; font-family: sans-serif; }
.slide { display: none; height: 100vh; box-sizing: border-box; padding: 2vh 3vw; flex-direction: column; }
.slide.shown { display: flex; }
.slide h1 { margin: 0 0 1vh 0; font-size: 4vh; }
.slide .picture { flex: 1; min-height: 0; display: flex; align-items: center; justify-content: center; }
.slide img { max-width: 100%; max-height: 100%; object-fit: contain; image-rendering: pixelated; }
.slide .card { border: 2px solid #555; border-radius: 1vh; padding: 4vh 4vw; font-size: 2.5vh; max-width: 60vw; }
.slide footer { font-size: 1.6vh; color: #999; margin-top: 1vh; overflow-wrap: anywhere; }
"""
_SCRIPT = """
const slides = document.querySelectorAll(".slide");
let shown = 0;
function show(index) {
  shown = Math.max(0, Math.min(slides.length - 1, index));
  slides.forEach((slide, i) => slide.classList.toggle("shown", i === shown));
  document.body.dataset.slide = String(shown + 1);
}
const steps = {ArrowRight: 1, ArrowDown: 1, PageDown: 1, " ": 1, ArrowLeft: -1, ArrowUp: -1, PageUp: -1};
document.addEventListener("keydown", (event) => {
  if (event.key in steps) { event.preventDefault(); show(shown + steps[event.key]); }
  else if (event.key === "Home") show(0);
  else if (event.key === "End") show(slides.length - 1);
});
document.addEventListener("click", () => show(shown + 1));
show(0);
"""


def deck_html(title: str, slides: list[OfflineSlide]) -> str:
    """One HTML document holding every slide; all text is escaped, so a title or link cannot add markup."""
    count = len(slides)
    sections = []
    for number, slide in enumerate(slides, start=1):
        name = html.escape(slide.title)
        link = html.escape(slide.link)
        if slide.png is not None:
            data = base64.b64encode(slide.png).decode("ascii")
            picture = f'<img alt="{name}" src="data:image/png;base64,{data}">'
        else:
            picture = f'<div class="card"><p>{name}</p><p>This view is live only. Open it with the app:</p><p>{link}</p></div>'
        sections.append(
            f'<section class="slide" id="slide-{number}"><h1>{name}</h1><div class="picture">{picture}</div>'
            f"<footer>{number} / {count} · {link}</footer></section>"
        )
    body = "\n".join(sections) or '<section class="slide shown"><h1>This deck has no slides.</h1></section>'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n{body}\n<script>{_SCRIPT}</script>\n</body></html>\n"
    )
