"""Does a passage answer the question? The model asked yes or no, one passage at a time.

A small model writing an answer from five passages says "not covered" (or answers past them) while one
of them answers: asked apart, of one passage alone, whether it states the answer, it tells them apart
far better. On the dev splits it said no to every passage of all 10 unanswerable questions that reached
it, and yes to the answering passage of 3 of 5 answerable questions it had refused. A yes is not an
answer: the question is then asked again with that passage alone, and that answer is checked as any
other (``tutor.answering``). Limits: a paraphrase the model cannot connect is still judged no; a yes is
one small model's word, which is why it only earns a second try, never a quote.

The same question settles an answer that cites only lower passages (``elsewhere``): when the model judges
none of them to answer and the best passage to, the answer was likely written from the wrong one (dev:
2 of 19 such answers, both wrong; the BRNN downside was answered from the RNN notation passage).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from tutor.llm import ChatModel, LLMError
from tutor.prompts import judge_messages
from tutor.records import Hit

JUDGED = 3  # the best passages judged, best first: a few seconds each
JUDGE_TOKENS = 3  # "YES" or "NO"


def says_yes(model: ChatModel, question: str, hit: Hit) -> bool:
    """Whether the model judges that ``hit`` alone states the answer (no, when it cannot be asked)."""
    try:
        reply = "".join(model.stream(judge_messages(question, hit), max_tokens=JUDGE_TOKENS, temperature=0.0))
    except LLMError:
        return False
    return reply.strip().upper().startswith("YES")


def judged(model: ChatModel, question: str, hits: Sequence[Hit], tried: Collection[int] = ()) -> int | None:
    """The number (from 1) of the first of the best ``JUDGED`` passages the model judges to answer
    ``question``, skipping those ``tried`` already and those the search by meaning did not find (keyword
    matches alone); None when it judges none does.

    A passage that shares only words with the question is where the model's yes is worth least: asked
    "How do I run k-fold cross-validation?", it judged a dropout passage (found by "run" and "k", not
    among the 20 closest in meaning) to answer it, and the second answer from it was nonsense."""
    for n, hit in enumerate(hits[:JUDGED], 1):
        if n not in tried and hit.dense is not None and says_yes(model, question, hit):
            return n
    return None


def elsewhere(model: ChatModel, question: str, hits: Sequence[Hit], cited: Sequence[int]) -> bool:
    """Whether an answer that cites only passages other than the best one was written from the wrong
    ones: the model, asked apart, judges that none of the ``cited`` passages states the answer and that
    the best passage (``[1]``) does. Most such answers are right (a lower passage often answers), and
    then the first cited passage judged yes ends it, one call.
    """
    if not hits or not cited or 1 in cited:
        return False
    if any(says_yes(model, question, hits[n - 1]) for n in cited if 0 < n <= len(hits)):
        return False
    return says_yes(model, question, hits[0])
