"""A child process that runs fuzz cases for tests/test_fuzz.py with its address space capped and each case timed out.

Reads one JSON request per line on standard input, `{"args": [...], "input": "..."}`, runs `cnncalc ARGS` through
click's CliRunner, and answers one JSON line: `{"exit_code": N, "stderr": "...", "seconds": S}`, or
`{"timeout": S}` when the case ran past its limit (exit code -1 with the traceback when an exception escaped
the command). A case that exhausts the capped memory ends as cnncalc ends it
(MemoryError is an internal error, exit 70), which the test reports with the spec that caused it.

    python tests/fuzz_worker.py MEMORY_BYTES SECONDS_PER_CASE
"""
from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
import traceback


class CaseTimeout(BaseException):  # not an Exception: cnncalc's own handlers must not swallow it
    pass


def on_alarm(signum, frame):
    raise CaseTimeout


def main() -> None:
    memory, seconds = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    os.environ["NO_COLOR"] = "1"
    from click.testing import CliRunner

    from cnncalc.cli import cli as cli_group

    signal.signal(signal.SIGALRM, on_alarm)
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        start = time.perf_counter()
        signal.alarm(seconds)
        try:
            result = CliRunner().invoke(cli_group, request["args"], input=request["input"], prog_name="cnncalc",
                                        catch_exceptions=False)
            answer = {"exit_code": result.exit_code, "stderr": result.stderr[-4000:]}
        except CaseTimeout:
            answer = {"timeout": seconds}
        except Exception:  # escaped the command's own handling: the test shows it with the case
            answer = {"exit_code": -1, "stderr": traceback.format_exc()[-4000:]}
        finally:
            signal.alarm(0)
        answer["seconds"] = round(time.perf_counter() - start, 3)
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
