"""Notes as people keep them: PDFs, notebooks, Obsidian vaults, web pages, Markdown with inline HTML.

Each file is made in the test (the PDF by reportlab), ingested, searched and cited with the right page,
cell or lines, and nothing but its text is indexed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes import HashEmbedder, MemoryStore
from tests.note_files import (
    CLUTTER,
    NOTEBOOK,
    PAGE_FACTS,
    make_lecture,
    make_notebook,
    make_page,
    make_pdf,
    make_scan,
    make_vault,
)
from tutor.catalog import load_catalog
from tutor.ingest import IngestReport, ingest, stale_sources
from tutor.notes import READERS, note_files, read_note
from tutor.records import Chunk, Citation

pytest.importorskip("reportlab", reason="reportlab (a dev dependency) makes the test PDFs")


def run(corpus: Path, index: Path) -> IngestReport:
    return ingest(corpus, index, HashEmbedder(), lambda _folder: MemoryStore(), progress=False)


def chunks_of(index: Path, source: str) -> list[Chunk]:
    catalog = load_catalog(index)
    assert catalog is not None
    return [catalog.chunks[i] for i in catalog.files[source].chunk_ids]


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    return folder


def test_every_format_has_one_reader_registered_by_suffix() -> None:
    assert set(READERS) == {".md", ".markdown", ".txt", ".pdf", ".ipynb", ".html", ".htm"}
    assert all(callable(r) for r in READERS.values())


def test_a_pdf_is_cited_by_page_and_lines_within_the_page(notes: Path, tmp_path: Path) -> None:
    make_lecture(notes)
    report = run(notes, tmp_path / "index")
    assert report.added == ["lecture-07.pdf"] and report.pages == 2 and not report.warnings
    assert "2 PDF pages read" in report.summary()
    one, two = chunks_of(tmp_path / "index", "lecture-07.pdf")
    assert (one.page, one.lines, two.page, two.lines) == (1, (1, 3), 2, (1, 3))
    assert PAGE_FACTS[0] in one.text and PAGE_FACTS[1] not in one.text
    assert two.text.splitlines()[1] == PAGE_FACTS[1]
    citation = Citation.of(2, two)
    assert citation.label() == "lecture-07.pdf › p. 2 (lines 1-3)"
    assert citation.to_dict()["page"] == 2 and "cell" not in citation.to_dict()
    make_notebook(notes)  # the automatic refresh before a question sees a new file of any format
    assert stale_sources(notes, load_catalog(tmp_path / "index")) == ["lab.ipynb"]


def test_a_pdf_page_is_under_its_bookmark(notes: Path, tmp_path: Path) -> None:
    make_pdf(notes / "deck.pdf", [["Intro", "Gradient steps."], ["Momentum", "Past gradients averaged."],
                                  ["Nesterov looks ahead."]],
             bookmarks=((0, "Optimisation", 0), (1, "Momentum", 1)))
    run(notes, tmp_path / "index")
    got = [(c.page, c.section) for c in chunks_of(tmp_path / "index", "deck.pdf")]
    assert got == [(1, "Optimisation"), (2, "Optimisation > Momentum"), (3, "Optimisation > Momentum")]
    assert Citation.of(1, chunks_of(tmp_path / "index", "deck.pdf")[1]).label() == \
        "deck.pdf › p. 2 › Optimisation > Momentum (lines 1-2)"


def test_scanned_encrypted_and_damaged_pdfs_are_skipped_with_a_warning_the_rest_indexed(notes: Path,
                                                                                      tmp_path: Path) -> None:
    make_lecture(notes)
    make_scan(notes / "scan.pdf")
    make_pdf(notes / "locked.pdf", [["A secret fact."]], password="hunter2")
    (notes / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage, no xref, no trailer")
    report = run(notes, tmp_path / "index")
    assert report.added == ["lecture-07.pdf"]
    said = {Path(w.split(": ", 1)[0].removeprefix("skipped ")).name: w for w in report.warnings}
    assert set(said) == {"scan.pdf", "locked.pdf", "broken.pdf"}
    assert "no text layer" in said["scan.pdf"] and "OCR" in said["scan.pdf"]
    assert "encrypted with a password" in said["locked.pdf"]
    assert "damaged" in said["broken.pdf"]
    assert all(w.startswith(f"skipped {notes}/") for w in report.warnings)
    assert stale_sources(notes, load_catalog(tmp_path / "index")) == []  # skipped files do not make it stale


def test_a_notebook_is_its_markdown_and_code_cells_cited_by_cell(notes: Path, tmp_path: Path) -> None:
    make_notebook(notes)
    run(notes, tmp_path / "index")
    got = {(c.cell, c.section, c.lines): c.text for c in chunks_of(tmp_path / "index", "lab.ipynb")}
    assert got == {
        (1, "lab", (3, 3)): "We fit a first model.",
        (2, "Loading data", (2, 2)): "Read the CSV with pandas.",
        (3, "Loading data", (1, 2)): "```python\nimport pandas as pd\ndf = pd.read_csv('houses.csv')\n```",
        (5, "Training", (2, 2)): "Standardise the features before fitting a ridge regression.",
        (6, "Training", (1, 2)): "```python\n# fit it\nmodel.fit(X, y)\n```",
    }
    (code,) = [c for c in chunks_of(tmp_path / "index", "lab.ipynb") if c.cell == 3]
    assert Citation.of(1, code).label() == "lab.ipynb › cell 3 › Loading data (lines 1-2)"


def test_a_long_one_line_paragraph_in_a_notebook_cell_is_cut_into_parts_cited_by_cell(notes: Path,
                                                                                     tmp_path: Path) -> None:
    paragraph = " ".join(f"Step {i} of the pipeline standardises feature number {i} first." for i in range(80))
    cells = [{"cell_type": "markdown", "metadata": {}, "source": f"## Pipeline\n{paragraph}"}]
    (notes / "long.ipynb").write_text(json.dumps({**NOTEBOOK, "cells": cells}))
    run(notes, tmp_path / "index")
    parts = chunks_of(tmp_path / "index", "long.ipynb")
    assert len(parts) > 2 and {(c.cell, c.lines) for c in parts} == {(1, (2, 2))}
    assert " ".join(c.text for c in parts) == paragraph
    assert len({c.id for c in parts}) == len(parts)  # one id a part: none is lost in the index


def test_notebook_sections_are_the_same_for_every_cell_and_a_broken_one_is_skipped(notes: Path,
                                                                                 tmp_path: Path) -> None:
    cells = [{"cell_type": "markdown", "source": "# Part A"}, {"cell_type": "markdown", "source": "Alpha text."},
             {"cell_type": "markdown", "source": "# Part B\nBeta text."}, {"cell_type": "code", "source": "beta()"}]
    (notes / "parts.ipynb").write_text(json.dumps({"nbformat": 4, "metadata": {}, "cells": cells}))
    (notes / "broken.ipynb").write_text('{"cells": [')
    report = run(notes, tmp_path / "index")
    assert report.added == ["parts.ipynb"] and "broken.ipynb: it is not a readable notebook" in report.warnings[0]
    got = [(c.cell, c.section, c.lines) for c in chunks_of(tmp_path / "index", "parts.ipynb")]
    assert got == [(2, "Part A", (1, 1)), (3, "Part B", (2, 2)), (4, "Part B", (1, 1))]


def test_an_obsidian_vault_indexes_text_not_markup_with_exact_lines(notes: Path, tmp_path: Path) -> None:
    make_vault(notes)
    report = run(notes, tmp_path / "index")
    assert sorted(report.added) == ["vault/ml/Regularisation.md", "vault/ml/bias.md"]  # .obsidian/ skipped
    (chunk,) = chunks_of(tmp_path / "index", "vault/ml/bias.md")
    assert chunk.section == "3. Tradeoff (Template)"
    lines = chunk.text.splitlines()
    assert lines[0] == "High bias underfits; see the ridge penalty and Overfitting."
    assert "> Note: Remember" in lines and "> Variance grows with model complexity." in lines
    assert not any(mark in chunk.embed_text() for mark in CLUTTER)
    source = (notes / "vault/ml/bias.md").read_text().splitlines()
    assert source[chunk.start - 1].startswith("High bias") and source[chunk.end - 1].startswith("> Variance")
    document = read_note(notes / "vault/ml/bias.md").document
    assert document is not None and document.tags == ("ml", "stats") and document.aliases == ("Bias-variance",)


def test_a_web_page_is_its_article_with_headings_as_sections(notes: Path, tmp_path: Path) -> None:
    make_page(notes)
    run(notes, tmp_path / "index")
    chunks = chunks_of(tmp_path / "index", "feature-stores.html")
    text = "\n".join(c.embed_text() for c in chunks)
    assert not any(mark in text for mark in CLUTTER) and "Home" not in text
    why = next(c for c in chunks if c.section == "Why teams use one")
    assert why.text.splitlines()[:3] == ["- Consistency between training and serving", "- Reuse", "  - across teams"]
    assert '```\nstore.get("user_42")\n```' in why.text and "| Feast | open source |" in why.text
    assert any("A feature store serves features online and offline." in c.text for c in chunks)


def test_markdown_headings_with_inline_html_are_cited_by_their_visible_text(notes: Path, tmp_path: Path) -> None:
    (notes / "week.md").write_text('# Course\n\n## <a name="x"></a> 3. Topics ([Template](./t.md))\n'
                                   "Topic one.\n<!-- a note to self\nthat spans lines -->\nTopic two.\n"
                                   "- [[LeCun et al., 1998]](http://example.org) is a link, not a wikilink\n")
    run(notes, tmp_path / "index")
    (chunk,) = chunks_of(tmp_path / "index", "week.md")
    assert (chunk.section, chunk.lines) == ("3. Topics (Template)", (4, 8))
    assert chunk.text.splitlines() == ["Topic one.", "", "", "Topic two.",
                                       "- [[LeCun et al., 1998]](http://example.org) is a link, not a wikilink"]


def test_cli_search_and_ask_name_the_page(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    make_lecture(downloads)
    code, out, err = cli("ingest", str(downloads / "lecture-07.pdf"))
    assert code == 0 and "1 added" in out and (tmp_path / "corpus" / "lecture-07.pdf").exists(), err
    code, out, _ = cli("search", "--json", "-k", "40", "momentum running average of past gradients")
    hits = [h for h in json.loads(out)["hits"] if h["source"] == "lecture-07.pdf"]
    assert {h["page"] for h in hits} == {1, 2}
    assert all("page" not in h for h in json.loads(out)["hits"] if h["source"] != "lecture-07.pdf")
    code, out, _ = cli("search", "-k", "40", "momentum running average of past gradients")
    assert "lecture-07.pdf › p. 2 (lines 1-3)" in out
    code, out, _ = cli("ask", "--json", "--backend", "extractive", PAGE_FACTS[1])
    (cited,) = [c for c in json.loads(out)["citations"] if c["source"] == "lecture-07.pdf"]
    assert code == 0 and cited["page"] == 2 and cited["lines"] == [1, 3] and PAGE_FACTS[1] in cited["text"]


def test_the_ui_upload_takes_every_format_and_shows_the_page(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import ScriptedModel
    from tutor.pipeline import Tutor
    from ui.app import search_view
    from ui.core import Study

    study = Study(lambda: Tutor(settings, embedder=HashEmbedder(), store=MemoryStore(), model=ScriptedModel(),
                                progress=False))
    pdf = make_lecture(tmp_path).read_bytes()
    assert study.save_note("lecture-07.pdf", pdf).name == "lecture-07.pdf"  # binary, not UTF-8: still a note
    study.save_note("lab.ipynb", make_notebook(tmp_path).read_bytes())
    assert "3 added" in study.reindex()  # with the notes already there
    shown = search_view(study, "momentum running average of past gradients", 40)
    assert "lecture-07.pdf › p. 2 · lines 1-3" in shown and "lab.ipynb › cell 5 › Training · lines 2-2" in shown


def test_hidden_folders_and_unknown_suffixes_are_not_notes(notes: Path) -> None:
    make_vault(notes)
    (notes / "vault" / "draft.docx").write_bytes(b"PK\x03\x04")
    (notes / ".git").mkdir()
    (notes / ".git" / "README.md").write_text("# not a note\n")
    assert [p.relative_to(notes).as_posix() for p in note_files(notes)] == ["vault/ml/Regularisation.md",
                                                                            "vault/ml/bias.md"]


@pytest.mark.integration
def test_real_search_finds_each_format_by_meaning_and_cites_it(tmp_path: Path, minilm) -> None:  # type: ignore[no-untyped-def]
    """The real embedder and Chroma index over the home notes plus a PDF, a notebook, a vault and a web page."""
    import shutil

    from tests.conftest import NOTES
    from tutor.config import load_settings
    from tutor.pipeline import Tutor

    notes = tmp_path / "corpus"
    notes.mkdir()
    shutil.copy(NOTES, notes / NOTES.name)
    for make in (make_lecture, make_notebook, make_vault, make_page):
        make(notes)
    settings = load_settings({"corpus": str(notes), "index": str(tmp_path / "index"),
                              "data_dir": str(tmp_path / "data"), "backend": "extractive"}, env={}, cwd=tmp_path)
    tutor = Tutor(settings, embedder=minilm, progress=False)
    report = tutor.ingest()
    assert len(report.added) == 6 and not report.warnings
    expected = {
        "how does momentum use earlier gradients?": "lecture-07.pdf › p. 2 (lines 1-3)",
        "what does the learning rate do to a step?": "lecture-07.pdf › p. 1 (lines 1-3)",
        "should I scale features before ridge regression?": "lab.ipynb › cell 5 › Training (lines 2-2)",
        "import pandas as pd, then read_csv of houses.csv": "lab.ipynb › cell 3 › Loading data (lines 1-2)",
        "what happens to variance as models get more complex?":
            "vault/ml/bias.md › 3. Tradeoff (Template) (lines 8-14)",
        "consistent features in training and serving, reused across teams":
            "feature-stores.html › Why teams use one (lines 7-16)",
    }
    for question, label in expected.items():
        top = tutor.search(question, 1)[0]
        assert Citation.of(1, top.chunk).label() == label, question
        assert not any(mark in top.chunk.embed_text() for mark in CLUTTER)


def test_a_reader_that_fails_on_an_odd_file_skips_it_with_a_warning(notes: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    make_lecture(notes)
    (notes / "odd.htm").write_text("<p>fine</p>")

    def surprised(path: Path, raw: bytes):  # type: ignore[no-untyped-def]
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setitem(READERS, ".htm", surprised)
    report = run(notes, tmp_path / "index")
    assert report.added == ["lecture-07.pdf"]
    assert report.warnings == [f"skipped {notes}/odd.htm: it could not be read (RecursionError: maximum recursion "
                               "depth exceeded)"]
