"""A spec as it was at a git revision: `REV:PATH` (`main:models/net.yaml`, `HEAD~1:./net.yaml`), read with
`git show`, for `cnncalc diff` and `cnncalc lint --baseline`.

git runs from a list of arguments (no shell), with a time limit, and at most `MAX_BYTES` of its output are read, so a
revision argument cannot run anything and a huge blob cannot fill memory. PATH is git's: from the repository's root,
or from the working directory when it starts with `./`.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Optional

from ..core.load import Source
from ..errors import OptionError
from ..spec.source import MAX_BYTES

TIMEOUT = 30  # seconds for one `git show`
# REV:PATH — a revision is a ref, a hash or an expression like HEAD~2 or main^; never an option (no leading '-')
_REVISION = re.compile(r"^(?P<rev>[A-Za-z0-9_.~^/{}@+][A-Za-z0-9_.~^/{}@+\-]*):(?P<path>[^:].*)$")


def split(arg: str) -> Optional[tuple]:
    """(REV, PATH) when `arg` names a file at a git revision rather than a file, a zoo name or '-'; else None."""
    if arg == "-" or "\n" in arg or Path(arg).exists():
        return None
    m = _REVISION.match(arg)  # zoo names have no ':', so an existing file is the only other reading
    return (m.group("rev"), m.group("path")) if m else None


def read(rev: str, path: str, cwd: Optional[Path] = None) -> Source:
    """The text of PATH at REV as a `Source` named `REV:PATH` (errors point there); a failure is an `OptionError`."""
    name = f"{rev}:{path}"
    if rev.startswith("-"):
        raise OptionError(f"{name}: a revision cannot start with '-'")
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty git cannot block on a full stderr
        try:
            proc = subprocess.Popen(["git", "show", "--no-textconv", name], cwd=cwd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=err, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        except OSError as e:
            raise OptionError(f"cannot read {name}: git is not available ({e.strerror or e})") from None
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            proc.kill()

        timer = threading.Timer(TIMEOUT, expire)
        timer.start()
        try:
            data = proc.stdout.read(MAX_BYTES + 1)  # type: ignore[union-attr]
            too_big = len(data) > MAX_BYTES
            if too_big:
                proc.kill()
            proc.stdout.close()  # type: ignore[union-attr]
            code = proc.wait()
        finally:
            timer.cancel()
        err.seek(0)
        reason = err.read(4096).decode("utf-8", "replace").strip().splitlines()
    if expired.is_set():
        raise OptionError(f"cannot read {name}: git did not answer within {TIMEOUT} s")
    if too_big:
        raise OptionError(f"cannot read {name}: larger than {MAX_BYTES:,} bytes")
    if code != 0:
        raise OptionError(f"cannot read {name}: {reason[-1] if reason else 'git failed'}",
                          hint="REV:PATH is read with `git show`: PATH from the repository's root, or ./PATH from "
                               "the working directory")
    try:
        return Source(name, data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise OptionError(f"cannot read {name}: not UTF-8 text ({e.reason})") from None


def verify(rev: str) -> None:
    """Refuse a revision that does not name a commit here (before any spec is read at it)."""
    if rev.startswith("-") or not _REVISION.match(f"{rev}:x"):
        raise OptionError(f"not a git revision: {rev}", option="--baseline")
    try:
        proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                              stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=TIMEOUT, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    except (OSError, subprocess.TimeoutExpired) as e:
        raise OptionError(f"cannot check the revision {rev}: {e}", option="--baseline") from None
    if proc.returncode != 0:
        raise OptionError(f"{rev} is neither a baseline file nor a git revision here", option="--baseline",
                          hint="give a branch, tag or commit (main, origin/main, HEAD~1) or a file written by "
                               "--write-baseline")
