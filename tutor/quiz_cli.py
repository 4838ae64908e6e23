"""``tutor quiz``, ``tutor progress`` and ``tutor export`` in the terminal: printing and the answer loop.

The logic is in ``tutor.session`` (choosing, grading, recording), which the UI uses as well.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from tutor.errors import TutorError
from tutor.grading import REVEAL, Grade
from tutor.quiz import KIND_NAMES, QuizItem
from tutor.render import LETTERS, when
from tutor.reviews import ItemState, ProgressReport, Reviews
from tutor.session import QuizSession

HELP = "Answer in your own words (a letter for choices), or /hint, /skip, /quit. Ctrl-C stops; answers are saved."


class _Quit(Exception):
    pass


def run_quiz(args, console, tutor, ask: Callable[[str], str] | None = None) -> int:  # type: ignore[no-untyped-def]
    if not 1 <= args.n <= 100:
        raise TutorError(f"-n must be between 1 and 100, not {args.n}", exit_code=2)
    with Reviews(tutor.settings.progress_path) as reviews:
        session = QuizSession(tutor, reviews, log=console.status)
        items = session.items(kind=args.kind, section=args.section, n=args.n, due=args.due)
        if args.json:
            count = 0
            for item in items:
                console.print(json.dumps(item.to_dict(), ensure_ascii=False))
                count += 1
            _generation_note(session, console)
            return 0 if count else _nothing(args, console)
        return _loop(session, items, console, ask or input, args)


def run_export(args, console, tutor) -> int:  # type: ignore[no-untyped-def]
    """``tutor export FILE``: the question bank (written up to -n first) as an Anki package or a CSV file."""
    from pathlib import Path

    from tutor.export import check_target, export

    path = Path(args.file).expanduser()
    check_target(path)  # a bad name or folder fails before the notes or the model are loaded
    if not 0 <= args.n <= 1000:
        raise TutorError(f"-n must be between 0 and 1000, not {args.n}", exit_code=2)
    with Reviews(tutor.settings.progress_path) as reviews:
        session = QuizSession(tutor, reviews, log=console.status)
        items = session.bank_items(kinds=args.kind, section=args.section, n=args.n)
        _generation_note(session, console)
    if not items:
        raise TutorError("the question bank has no questions for this selection and none could be written",
                         fix="check the model with: tutor doctor, or try another --section or --kind")
    console.print(export(items, path).summary())
    return 0


def _nothing(args, console) -> int:  # type: ignore[no-untyped-def]
    if args.due:
        console.print("Nothing is due for review. Run `tutor quiz` to practise new questions.")
        return 0
    raise TutorError("no quiz questions could be made for this selection",
                     fix="try another --section or --kind, or check the model with: tutor doctor")


def _generation_note(session: QuizSession, console) -> None:  # type: ignore[no-untyped-def]
    s = session.stats
    if s.tried:
        console.status(f"(wrote {s.valid} of {s.tried} new questions, {s.first_try} valid on the first try, "
                       f"{s.seconds / s.tried:.1f}s each)")
    if s.built:
        console.status(f"({s.built} new questions built from the structure of your notes, no model needed)")


def _loop(session: QuizSession, items: Iterator[QuizItem], console, ask, args) -> int:  # type: ignore[no-untyped-def]
    console.status(HELP)
    done: list[Grade] = []
    shown, interrupted = 0, False
    try:
        for number, item in enumerate(items, 1):
            shown = number
            _show(item, number, console)
            result = _one(session, item, console, ask)
            if result is not None:
                done.append(result)
    except (_Quit, EOFError):
        pass
    except KeyboardInterrupt:
        interrupted = True
        console.print("\n(stopped)")
    if not shown and not interrupted:
        return _nothing(args, console)
    _summary(done, session, console)
    return 130 if interrupted else 0


def _show(item: QuizItem, number: int, console) -> None:  # type: ignore[no-untyped-def]
    console.print("")
    where = item.section.rpartition(" > ")[2]
    console.print(console.style(f"Q{number} · {KIND_NAMES[item.kind]} · {where}", "1"))
    console.print(item.question)
    for letter, option in zip(LETTERS, item.options):
        console.print(f"  {letter}) {option}")


def _one(session: QuizSession, item: QuizItem, console, ask) -> Grade | None:  # type: ignore[no-untyped-def]
    hints = 0
    blank = False
    while True:
        text = ask("answer> ")
        command = text.strip().lower()
        if command in ("/quit", "/q", "/exit"):
            raise _Quit
        if command == "/skip":
            console.print(f"(skipped; the answer: {item.answer})")
            return None
        if command == "/hint":
            hints = min(hints + 1, REVEAL)
            console.print(console.style(session.hint(item, hints), "33"))
            if hints == REVEAL:
                console.print("(type what you now remember; it is recorded as not known)")
            continue
        if command.startswith("/"):
            console.print("(commands: /hint, /skip, /quit)")
            continue
        if not command and not blank:
            blank = True
            console.print("(type an answer, /hint, /skip or /quit; Enter again to submit it blank)")
            continue
        result, state = session.answer(item, text, hints)  # committed before any feedback is shown
        _feedback(item, result, state, console)
        return result


def _feedback(item: QuizItem, grade: Grade, state: ItemState, console) -> None:  # type: ignore[no-untyped-def]
    if grade.kind in ("mcq", "contrast"):
        if grade.correct:
            console.print(console.style("✓ Correct.", "32"))
        else:
            letter = LETTERS[item.answer_index or 0]
            console.print(console.style(f"✗ Not quite: the answer is {letter}) {item.answer}.", "31"))
    else:
        n = len(grade.points)
        mark, colour = ("✓", "32") if grade.correct else ("✗", "31") if grade.score < 0.5 else ("~", "33")
        console.print(console.style(f"{mark} Score {grade.score:.0%}: {len(grade.hit)} of {n} key points.", colour))
        for p in grade.points:
            if p.hit:
                console.print(f"  ✓ {p.point}")
            else:
                console.print(f"  ✗ {p.point}" + (f"\n      see {p.teaching.label()}" if p.teaching else ""))
    if grade.note:
        console.print(f"  ({grade.note})")
    if item.citations:
        console.print(console.style(f"  Source: {item.citations[0].label()}", "2"))
    hinted = f" · {grade.hints_used} hint{'s' * (grade.hints_used != 1)} used" if grade.hints_used else ""
    console.print(console.style(f"  Recorded as {grade.rating.name.lower()}{hinted} · next review "
                                f"{when(state.due)}", "2"))


def _summary(done: list[Grade], session: QuizSession, console) -> None:  # type: ignore[no-untyped-def]
    _generation_note(session, console)
    if done:
        mean = sum(g.score for g in done) / len(done)
        console.print(f"\n{len(done)} answered · mean score {mean:.0%} · saved in {session.reviews.path}")
    console.print("See how you are doing with: tutor progress")


def run_progress(args, console, tutor) -> int:  # type: ignore[no-untyped-def]
    with Reviews(tutor.settings.progress_path) as reviews:
        report = QuizSession(tutor, reviews, log=console.status).report()
    if args.json:
        console.print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print_report(report, console)
    return 0


def print_report(report: ProgressReport, console) -> None:  # type: ignore[no-untyped-def]
    if not report.sections and not report.attempts:
        console.print("Nothing practised yet, and no notes to practise on: add notes, then start with `tutor quiz`.")
        return
    width = max([len(s.section) for s in report.sections] + [7])
    console.print(console.style(f"{'Section':<{width}}  Practised  Items  Mastery  Due", "1"))
    for s in report.sections:
        mastery = "-" if s.mastery is None else f"{s.mastery:.0%}"
        console.print(f"{s.section:<{width}}  {f'{s.practised}/{s.subsections}':>9}  {s.items:>5}  {mastery:>7}  "
                      f"{s.due:>3}")
    days = f"{report.streak} day{'s' * (report.streak != 1)}"
    console.print(f"\nDue now: {report.due} · items practised: {report.items} · attempts: {report.attempts} · "
                  f"streak: {days}")
    if report.gaps:
        console.print(console.style(f"\nNever practised ({len(report.gaps)} sections):", "1"))
        for gap in report.gaps:
            console.print(f"  - {gap}")
    if not report.attempts:
        console.print("\nNo attempts yet: start with `tutor quiz`.")
