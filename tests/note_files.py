"""Real note files of each format, made in the test: a PDF by reportlab, a notebook, a vault, a web page."""

from __future__ import annotations

import json
from pathlib import Path

PAGE_FACTS = ["The learning rate scales each gradient step.", "Momentum keeps a running average of past gradients."]


def make_pdf(path: Path, pages: list[list[str]], title: str = "", password: str = "",
             bookmarks: tuple[tuple[int, str, int], ...] = ()) -> Path:
    """A PDF with a text layer: one page per list of lines, drawn top down; bookmarks are (page, title, level)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4, encrypt=password or None, invariant=True)
    if title:
        pdf.setTitle(title)
    for n, lines in enumerate(pages):
        for key, (page, name, level) in enumerate(bookmarks):
            if page == n:
                pdf.bookmarkPage(f"b{key}")
                pdf.addOutlineEntry(name, f"b{key}", level=level)
        y = 800
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 18
        pdf.showPage()
    pdf.save()
    return path


def make_lecture(folder: Path) -> Path:
    """Two pages, one fact per page, with a slide title each."""
    return make_pdf(folder / "lecture-07.pdf", [["Optimisation", PAGE_FACTS[0], "Too large a rate diverges."],
                                                ["Momentum", PAGE_FACTS[1], "It damps oscillation in ravines."]],
                    title="Lecture 7")


def make_scan(path: Path) -> Path:
    """A PDF whose pages are pictures only (a scan without OCR): no text layer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=True)
    pdf.rect(72, 500, 300, 200, fill=1)
    pdf.showPage()
    pdf.save()
    return path


NOTEBOOK = {
    "nbformat": 4, "nbformat_minor": 5,
    "metadata": {"kernelspec": {"language": "python", "name": "python3", "display_name": "Python 3"}},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Week 3 lab\n", "\n", "We fit a first model."]},
        {"cell_type": "markdown", "metadata": {}, "source": "## Loading data\nRead the CSV with pandas."},
        {"cell_type": "code", "metadata": {}, "execution_count": 1,
         "source": ["import pandas as pd\n", "df = pd.read_csv('houses.csv')"],
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["OUTPUT-CLUTTER 12345\n"]}]},
        {"cell_type": "raw", "metadata": {}, "source": "RAW-CLUTTER"},
        {"cell_type": "markdown", "metadata": {}, "source": "## Training\nStandardise the features before fitting "
                                                             "a ridge regression."},
        {"cell_type": "code", "metadata": {}, "execution_count": 2, "source": "# fit it\nmodel.fit(X, y)",
         "outputs": [{"output_type": "execute_result", "data": {"text/plain": ["OUTPUT-CLUTTER"]},
                      "metadata": {}, "execution_count": 2}]},
    ],
}


def make_notebook(folder: Path) -> Path:
    path = folder / "lab.ipynb"
    path.write_text(json.dumps(NOTEBOOK, indent=1))
    return path


BIAS_NOTE = """---
tags: [ml, stats]
aliases: [Bias-variance]
---
# Bias and variance

## <a name="tradeoff"></a> 3. Tradeoff ([Template](./template.md))
High bias underfits; see [[Regularisation#L2|the ridge penalty]] and [[Overfitting]].
<!-- TODO: COMMENT-CLUTTER add a plot
     of the curve -->
![[bias-curve.png]]

> [!note] Remember
> Variance grows with model complexity.%% COMMENT-CLUTTER %%
"""


def make_vault(folder: Path) -> Path:
    """An Obsidian vault: a note in a subfolder with front matter, wikilinks, a callout; a hidden settings folder."""
    vault = folder / "vault"
    (vault / "ml").mkdir(parents=True)
    (vault / ".obsidian").mkdir()
    (vault / ".obsidian" / "workspace.md").write_text("# Hidden\nHIDDEN-CLUTTER\n")
    (vault / "ml" / "bias.md").write_text(BIAS_NOTE)
    (vault / "ml" / "Regularisation.md").write_text("# Regularisation\n\n## L2\nRidge shrinks weights toward zero.\n")
    return vault


PAGE = """<!doctype html><html><head><title>Feature stores</title><style>.x{color:red} STYLE-CLUTTER</style>
<script>var t = "SCRIPT-CLUTTER";</script></head><body>
<nav><a href="/">Home</a> <a href="/blog">NAV-CLUTTER</a></nav>
<header>BANNER-CLUTTER</header><div class="sidebar">SIDEBAR-CLUTTER</div>
<article><h1>Feature stores</h1><p>A feature store serves <b>features</b> online and offline.</p>
<h2 id="why">Why teams use one<a class="headerlink" href="#why">¶</a></h2>
<ul><li>Consistency between training and serving</li><li>Reuse<ul><li>across teams</li></ul></li></ul>
<pre>store.get("user_42")</pre>
<table><tr><th>tool</th><th>kind</th></tr><tr><td>Feast</td><td>open source</td></tr></table>
<script>alert("SCRIPT-CLUTTER")</script></article>
<footer>FOOTER-CLUTTER</footer></body></html>"""


def make_page(folder: Path) -> Path:
    path = folder / "feature-stores.html"
    path.write_text(PAGE)
    return path


CLUTTER = ("CLUTTER", "tags:", "[[", "]]", "<!--", "<a ", "[!note]", "](")
