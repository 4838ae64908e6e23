"""Saved web pages (``.html``, ``.htm``) through BeautifulSoup: the article's text, headings as sections.

The only module that imports bs4. Scripts, styles, navigation, headers, footers, asides and forms are
left out; the text is that of ``<article>``, else ``<main>``, else the body, written as Markdown
(headings ``#``, list items ``-``, table rows ``|``, ``<pre>`` as a code block), and lines are counted
in that text. Limits: no boilerplate scoring beyond those tags; text drawn by scripts is not there.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from tutor.notes.document import Document, NoteSkipped, Part
from tutor.notes.text import strip_controls

LEFT_OUT = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe",
            "svg", "canvas", "button", "select", "dialog", "head"]
# Navigation and chrome marked by role or by a common class name, and headings' permalink marks.
BOILERPLATE = ('[role="navigation"], [role="banner"], [role="contentinfo"], [role="complementary"], '
               '[aria-hidden="true"], .sidebar, .navbar, .menu, .breadcrumb, .breadcrumbs, .skip-link, '
               '.cookie-banner, .headerlink, a.anchor')
BLOCKS = {"p", "blockquote", "dt", "dd", "figcaption", "caption", "address", "summary"}
HEADINGS = {f"h{n}": n for n in range(1, 7)}
SPACES = re.compile(r"\s+")


def read(path: Path, raw: bytes) -> Document:
    """A web page: one part, its article text as Markdown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bs4 warns about markup that looks like a file name or URL
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(raw, "html.parser")
    title = _text(soup.title) if soup.title is not None else ""
    for tag in soup.find_all(LEFT_OUT):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.select(BOILERPLATE):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks: list[str] = []
    _walk(root, blocks)
    text = strip_controls("\n\n".join(b for b in blocks if b.strip()))
    if not text.strip():
        raise NoteSkipped("the page has no text outside scripts and navigation")
    if not title:
        title = next((b.lstrip("# ") for b in blocks if b.startswith("#")), path.stem)
    return Document(title=title, parts=(Part(text),), markdown=True)


def _walk(node: object, blocks: list[str], depth: int = 0) -> None:
    """Append the Markdown blocks of ``node``'s children to ``blocks``."""
    from bs4 import NavigableString, Tag
    from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

    loose: list[str] = []  # text directly inside a container, outside any block

    def flush() -> None:
        if "".join(loose).strip():
            blocks.append(SPACES.sub(" ", "".join(loose)).strip())
        loose.clear()

    for child in getattr(node, "children", ()):
        if isinstance(child, (Comment, Declaration, Doctype, ProcessingInstruction)):
            continue
        if isinstance(child, NavigableString):
            loose.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name in HEADINGS:
            flush()
            blocks.append("#" * HEADINGS[name] + " " + _text(child).rstrip(" ¶§#"))
        elif name in BLOCKS:
            flush()
            blocks.append(("> " if name == "blockquote" else "") + _text(child))
        elif name == "pre":
            flush()
            blocks.append("```\n" + child.get_text().strip("\n") + "\n```")
        elif name in ("ul", "ol"):
            flush()
            blocks.append("\n".join(_items(child, depth)))
        elif name == "table":
            flush()
            rows = ["| " + " | ".join(_text(c) for c in tr.find_all(["th", "td"])) + " |"
                    for tr in child.find_all("tr")]
            blocks.append("\n".join(rows))
        elif _is_inline(child):
            loose.append(child.get_text())
        else:
            flush()
            _walk(child, blocks, depth)
    flush()


def _items(list_tag: object, depth: int) -> list[str]:
    """A list's items as Markdown list lines; a nested list is indented under its item."""
    lines: list[str] = []
    for n, li in enumerate(list_tag.find_all("li", recursive=False), 1):  # type: ignore[attr-defined]
        nested = li.find_all(["ul", "ol"], recursive=False)
        for sub in nested:
            sub.extract()
        mark = f"{n}." if list_tag.name == "ol" else "-"  # type: ignore[attr-defined]
        lines.append("  " * depth + f"{mark} {_text(li)}")
        for sub in nested:
            lines.extend(_items(sub, depth + 1))
    return lines


def _is_inline(tag: object) -> bool:
    return tag.name in {"a", "abbr", "b", "code", "em", "i", "kbd", "mark", "q", "s", "small", "span",  # type: ignore[attr-defined]
                        "strong", "sub", "sup", "time", "u", "var", "cite", "dfn", "del", "ins", "label"}


def _text(tag: object) -> str:
    return SPACES.sub(" ", tag.get_text()).strip()  # type: ignore[attr-defined]
