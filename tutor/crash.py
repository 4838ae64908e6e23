"""The last resort: an error nobody foresaw is written to a crash file, and the user gets one line naming it.

Only for bugs. Every state a user can reach (no notes, a damaged index, an unwritable folder...)
is a ``TutorError`` with its own message and fix; this catches what is left.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
import traceback
from pathlib import Path

REPORT_TO = "please report it, with that file attached"


def crash_folders() -> list[Path]:
    """Where a crash file may go, best first: the data directory, then the system's temporary folder."""
    folders = []
    if os.environ.get("TUTOR_DATA_DIR", "").strip():
        folders.append(Path(os.path.expanduser(os.environ["TUTOR_DATA_DIR"])))
    else:
        try:
            from tutor.config import default_data_dir

            folders.append(default_data_dir())
        except Exception:  # noqa: BLE001 - a crash handler must not crash
            pass
    folders.append(Path(tempfile.gettempdir()))
    return folders


def write_crash_file(exc: BaseException, argv: list[str]) -> Path | None:
    """Write the traceback, the command and the versions to a new file; its path, or None if nowhere could take it."""
    from tutor.config import installed_version

    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = (f"tutor {installed_version()} crashed at {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n"
            f"command: tutor {' '.join(argv)}\n"
            f"python {platform.python_version()} on {platform.platform()}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    for folder in crash_folders():
        path = folder / f"crash-{stamp}-{os.getpid()}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as f:
                f.write(text)
            return path
        except OSError:
            continue
    return None


def crash_line(exc: BaseException, argv: list[str]) -> str:
    """The one line the user sees: what broke, where the details are, and whom to tell."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    what = f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__
    path = write_crash_file(exc, argv)
    if path is None:
        return (f"error: tutor failed unexpectedly ({what}) and no folder could take the details (fix: set "
                "TUTOR_DATA_DIR to a folder you can write, run it again, and report it with the crash file)")
    return f"error: tutor failed unexpectedly ({what}); the details are in {path} (fix: {REPORT_TO})"
