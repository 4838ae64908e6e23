"""How much of the notes the answer prompt needs: recall of the eval's key points at each context budget.

    .venv/bin/python bench/budget.py        # about 20 seconds; writes bench/budget.json

For every answerable case of evals/cases.yaml, the passages our retriever finds (top_k of them) are
packed into the notes block exactly as the answer prompt packs them (``tutor.prompts.format_notes``),
under budgets from 1,000 to 8,000 characters. Reported per budget: the share of key points whose words
are all in the notes block (lexical, as the eval matches answers: the most an answer could get
right), the share of cases whose expected section is quoted, and the answer prompt's size in tokens of
the embedded model (its own tokenizer, loaded without the weights). No model is run.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BUDGETS = [1000, 2000, 3000, 4000, 6000, 8000]
TOP_KS = [1, 2, 3, 5, 8]


def main() -> None:
    from tutor.answering import condense
    from tutor.config import load_settings
    from tutor.evals.dataset import load_dataset, matches_section
    from tutor.evals.metrics import lexical_matches
    from tutor.pipeline import Tutor
    from tutor.prompts import CONTEXT_CHARS, answer_messages, format_notes

    dataset = load_dataset(REPO / "evals" / "cases.yaml")
    cases = [c for c in dataset.cases if c.answerable]
    with tempfile.TemporaryDirectory(prefix="tutor-budget-") as tmp:
        settings = load_settings({"corpus": str(REPO / "corpus"), "index": str(Path(tmp) / "index"),
                                  "data_dir": str(REPO / ".cache"), "backend": "extractive"}, env={})
        tutor = Tutor(settings, progress=False)
        retriever = tutor.open_index()
        found = []
        for case in cases:
            query = condense(case.history, case.question, None) if case.history else case.question
            found.append((case, query, retriever.search(retriever.expand(query), k=max(TOP_KS))))
        count_tokens = _token_counter(settings)
        rows = []
        grid = [(settings.top_k, b) for b in BUDGETS] + [(k, CONTEXT_CHARS) for k in TOP_KS if k != settings.top_k]
        for top_k, budget in grid:
            points, covered, sections, tokens = 0, 0, 0, []
            for case, query, all_hits in found:
                hits = all_hits[:top_k]
                notes = format_notes(hits, budget)
                matched = lexical_matches(case.key_points, notes)
                points += len(matched)
                covered += sum(matched)
                quoted = [h.chunk.section for h in hits]
                sections += any(matches_section(e, s) for e in case.sections for s in quoted)
                messages = answer_messages(query, hits)
                messages[-1]["content"] = messages[-1]["content"].replace(format_notes(hits), notes)
                tokens.append(count_tokens(messages))
            rows.append({"top_k": top_k, "budget_chars": budget,
                         "chosen": budget == CONTEXT_CHARS and top_k == settings.top_k,
                         "key_point_recall": covered / points, "section_quoted": sections / len(found),
                         "prompt_tokens_median": statistics.median(tokens), "prompt_tokens_max": max(tokens)})
    out = {"cases": len(found), "rows": rows}
    (REPO / "bench" / "budget.json").write_text(json.dumps(out, indent=2))
    print(f"{len(found)} answerable cases; key points found in the quoted notes:\n")
    print(f"{'top_k':>6} {'budget (chars)':>15} {'key-point recall':>17} {'section quoted':>15} "
          f"{'prompt tokens (median/max)':>27}")
    for r in rows:
        mark = "  <- chosen" if r["chosen"] else ""
        print(f"{r['top_k']:>6} {r['budget_chars']:>15,} {r['key_point_recall']:>17.2f} {r['section_quoted']:>15.2f} "
              f"{r['prompt_tokens_median']:>18.0f} / {r['prompt_tokens_max']:.0f}{mark}")
    print(f"\nwrote {REPO / 'bench' / 'budget.json'}")


def _token_counter(settings):  # type: ignore[no-untyped-def]
    """Tokens of the chat-formatted prompt, by the embedded model's own tokenizer (vocabulary only)."""
    from llama_cpp import Llama

    from tutor.llm.llamacpp import LlamaCppModel

    path = LlamaCppModel.for_settings(settings, progress=False).path
    llm = Llama(model_path=str(path), vocab_only=True, verbose=False)

    def count(messages) -> int:  # type: ignore[no-untyped-def]
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return len(llm.tokenize(text.encode(), add_bos=False, special=True)) + 3  # + "<|im_start|>assistant\n"

    return count


if __name__ == "__main__":
    main()
