"""Coverage-guided fuzzing of the spec loader, expander and analysis with atheris (libFuzzer for Python).

    pip install atheris
    mkdir -p /tmp/corpus && cp cnncalc/specs/*.yaml tests/specs/*.yaml /tmp/corpus/
    python tools/fuzz_spec.py /tmp/corpus -max_total_time=600

Any input may be refused with a `CnncalcError` (a located message); any other exception, a hang past libFuzzer's
timeout or memory past its limit is a finding. Keep each one as a regression case in tests/test_hostile.py.
"""
import sys

import atheris

with atheris.instrument_imports(include=["cnncalc"]):
    import cnncalc
    from cnncalc.errors import CnncalcError
    from cnncalc.spec.options import parse_sets, parse_shape


def one_input(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    try:
        net = cnncalc.load(text if "\n" in text else text + "\n", filename="<fuzz>")
        net.analyze(batch=2)
    except CnncalcError as e:
        e.format()  # the message itself must be writable
    for option in (lambda: parse_sets([text[:200]]), lambda: parse_shape(text[:50], option="--input")):
        try:
            option()
        except CnncalcError as e:
            e.format()


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
