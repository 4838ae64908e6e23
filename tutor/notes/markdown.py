"""Markdown notes (``.md``, ``.markdown``) as people write them, Obsidian vaults included.

Left out of the text, each line blanked rather than deleted so line numbers stay the file's own:
YAML front matter (its ``tags`` and ``aliases`` become metadata), HTML and Obsidian ``%%`` comments and
``![[embeds]]``.
``[[Note]]`` and ``[[Note#Heading|label]]`` read as their label, ``> [!note] Title`` callouts as
``> Note: Title``, and a heading's inline HTML and links as their visible text
(``## <a name="x"></a> Topics ([Template](t.md))`` is the section "Topics (Template)"). Code blocks
are kept as they are. Limits: inline ``#tags`` are text; a comment inside inline code is still a
comment, and ``%%`` marks comments only when they come in pairs.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tutor.notes.document import Document, Part
from tutor.notes.text import decode

LINE_BREAK = re.compile(r"\r\n|\r|\n")  # as the chunker counts lines
FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
EMBED = re.compile(r"!\[\[[^\]\n]*\]\]")
WIKILINK = re.compile(r"\[\[([^\]|#\n]*)(?:#([^\]|\n]*))?(?:\|([^\]\n]*))?\]\](?!\()")  # not [[text]](url)
CALLOUT = re.compile(r"^(\s*>\s*)\[!([\w-]+)\][+-]?[ \t]*(.*)$")
TAG = re.compile(r"<[^>\n]*>")
LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")


def read(path: Path, raw: bytes) -> Document:
    """A Markdown file: one part, its lines cleaned as the module says."""
    text, warnings = decode(path, raw)
    clean, meta = clean_markdown(text)
    return Document(title=path.stem, parts=(Part(clean),), markdown=True, warnings=warnings,
                    tags=_names(meta.get("tags")), aliases=_names(meta.get("aliases")))


def clean_markdown(text: str) -> tuple[str, dict[str, object]]:
    """The text as indexed (same number of lines) and its front matter.

    >>> clean_markdown("---\\ntags: [ml]\\n---\\nSee [[Roles#MLE|the MLE]] <!-- todo -->\\n![[fig.png]]")
    ('\\n\\n\\nSee the MLE\\n', {'tags': ['ml']})
    """
    lines = LINE_BREAK.split(text)
    meta = _front_matter(lines)
    in_fence = in_comment = in_obsidian = False
    obsidian = text.count("%%") % 2 == 0  # a stray "%%" (no pair) is text, not a comment to the end
    for i, line in enumerate(lines):
        if FENCE.match(line) and not (in_comment or in_obsidian):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        was = line
        line, in_comment = _without(line, in_comment, "<!--", "-->")
        if obsidian:
            line, in_obsidian = _without(line, in_obsidian, "%%", "%%")
        line = EMBED.sub("", line)
        line = WIKILINK.sub(_label, line)
        line = CALLOUT.sub(_callout, line)
        if HEADING.match(line):
            line = re.sub(r"[ \t]+", " ", LINK.sub(r"\1", TAG.sub("", line))).rstrip()
        lines[i] = line if line == was else line.rstrip() if line.strip() else ""
    return "\n".join(lines), meta


def _front_matter(lines: list[str]) -> dict[str, object]:
    """YAML between a first line ``---`` and the next ``---``/``...``; its lines are blanked. {} when none."""
    if not lines or lines[0].rstrip() != "---":
        return {}
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        return {}
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError:
        return {}
    if not isinstance(meta, dict):
        return {}
    lines[: end + 1] = [""] * (end + 1)
    return meta


def _without(line: str, in_comment: bool, opening: str, closing: str) -> tuple[str, bool]:
    """``line`` without comments between ``opening`` and ``closing``, and whether one is still open at its end."""
    out = ""
    while line:
        if in_comment:
            end = line.find(closing)
            if end < 0:
                return out, True
            line, in_comment = line[end + len(closing) :], False
        else:
            start = line.find(opening)
            if start < 0:
                return out + line, False
            out, line, in_comment = out + line[:start], line[start + len(opening) :], True
    return out, in_comment


def _label(m: re.Match[str]) -> str:
    note, heading, label = (g.strip() if g else "" for g in m.groups())
    if label:
        return label
    if note and heading:
        return f"{note} > {heading}"
    return note or heading


def _callout(m: re.Match[str]) -> str:
    prefix, kind, title = m.groups()
    kind = kind.replace("-", " ").capitalize()
    return f"{prefix}{kind}: {title}" if title else f"{prefix}{kind}"


def _names(value: object) -> tuple[str, ...]:
    """Tags or aliases from front matter: a list, or one string of names separated by commas or spaces."""
    if isinstance(value, str):
        value = re.split(r"[,\s]+", value)
    if not isinstance(value, list):
        return ()
    return tuple(str(v).lstrip("#") for v in value if v is not None and str(v).strip())
