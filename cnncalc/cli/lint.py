"""`cnncalc lint`: check specs against design rules and budgets; exit 0 clean, 1 failed, 2 unreadable."""
from __future__ import annotations

import glob
import os
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional

import click

from ..errors import OptionError, SpecError
from ..importers import SUFFIXES
from .options import Failure, load_network, spec_options

_SPEC_LIKE = re.compile(r"^layers\s*:", re.M)  # a top-level `layers:` key: what tells a spec from other YAML


def budget_options(f):
    """A --max-NAME option per budget of cnncalc.lint.config.BUDGETS (counts take K, M, G; bytes KiB, MiB, GiB)."""
    from ..lint.config import BUDGETS

    for b in reversed(list(BUDGETS.values())):
        f = click.option(b.flag, metavar=b.example, help=f"Budget for {b.name.replace('-', ' ')} (error when exceeded).")(f)
    return f


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@spec_options
@click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Settings file (default: the nearest .cnncalc.yaml or pyproject.toml [tool.cnncalc.lint]).")
@budget_options
@click.option("--select", metavar="CODES", help="Only these rules: codes, prefixes (CNN1) or names, comma-separated.")
@click.option("--ignore", metavar="CODES", help="Skip these rules (added to the config's).")
@click.option("--strict/--no-strict", default=None, help="Warnings fail the check too.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              show_default=True, help="text for people, github for Actions annotations, sarif for code scanning.")
@click.option("--baseline", metavar="REV|FILE",
              help="Compare with each spec at a git revision (main) or in a baseline file; see --max-growth.")
@click.option("--max-growth", "growth", multiple=True, metavar="[METRIC=]SHARE",
              help="Growth allowed over the baseline: params=5%, macs=10%, peak-memory=0, or one share for all.")
@click.option("--write-baseline", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write the specs' figures to FILE, a baseline for later runs.")
@click.option("--specs-only", is_flag=True,
              help="Skip named YAML files without a top-level `layers:` key, as directories do (for pre-commit).")
@click.option("--convention", metavar="NAME", help="Measure the params, MACs and FLOPs budgets as this tool counts "
              "(fvcore, ptflops, thop, torchinfo, torchscan, calflops, keras, …).")
def lint(specs, input_shape, batch, sets, dtype, config_path, select, ignore, strict, fmt, baseline, growth,
         write_baseline, specs_only, convention, **budgets):
    """Check specs against design rules and budgets.

    SPEC is a YAML file, a directory or glob (every spec in it), a zoo name, or - for standard input.
    Exit status: 0 clean (warnings and infos allowed unless --strict), 1 an error or a budget exceeded,
    2 a spec or setting that cannot be read. `cnncalc rules` lists the rules.

    \b
    Examples:
      cnncalc lint models/
      cnncalc lint net.yaml --max-params 25M --max-peak-memory 512MiB --strict
      cnncalc lint 'models/**/*.yaml' --format github
      cnncalc lint models/ --format sarif > cnncalc.sarif
      cnncalc lint models/ --baseline origin/main --max-growth params=5% --max-growth macs=10%
    """
    from ..lint import Settings, Severity, run, settings_for
    from ..lint import config, emit

    base = Settings()
    path = Path(config_path) if config_path else config.find_config(Path.cwd())
    if config_path and not path.is_file():
        raise click.BadParameter(f"no such file: {config_path}", param_hint="--config")
    if path is not None:
        base = base.merged(config.read_config(Path(os.path.relpath(path))))  # errors show a short path
    base = base.merged(_flags(select, ignore, strict, budgets))
    if convention is not None:
        from ..conventions import convention as find_convention

        base = base.merged({"convention": find_convention(convention).name})
    if growth:
        from ..lint.baseline import parse_growth_flag

        shares: Dict[str, Any] = {}
        for text in growth:
            try:
                shares.update(parse_growth_flag(text))
            except OptionError as e:
                raise OptionError(e.message, e.hint, option="--max-growth") from None
        base = base.merged({"growth": shares})
    baseline_of = _baselines(baseline, sets, input_shape, batch, dtype) if baseline else None

    findings, failures, failed = [], [], False
    written = {}
    paths = spec_paths(specs, specs_only)
    if not paths:  # --specs-only, and none of the files was a spec: nothing to check
        if fmt == "sarif" or fmt == "json":
            click.echo(emit.FORMATS[fmt]([]), nl=False)
        if fmt == "text":
            click.echo(emit.summary([], 0), err=True)
        return
    for spec in paths:
        try:
            net = load_network(spec, sets, input_shape)
            spec_base = base
            if baseline_of is not None:
                found_base = baseline_of(spec)
                spec_base = replace(base, baseline=found_base) if found_base else base
            settings = settings_for(net, spec_base)
            analysis = net.analyze(batch=batch, dtype=dtype)
            found = run(analysis, settings)
            if write_baseline and analysis.ok:
                from ..lint.baseline import Baseline

                written[_key(spec)] = Baseline.of(analysis, spec)
        except SpecError as e:  # report it and go on with the other specs; a bad flag stops the command
            if isinstance(e, OptionError) and e.option:
                raise
            failures.append((spec, e))
            continue
        findings += found
        failed = failed or any(f.severity is Severity.ERROR or settings.strict and f.severity is Severity.WARNING
                               for f in found)
    if fmt == "text":
        click.echo(emit.text(findings, color=sys.stdout.isatty() and not os.environ.get("NO_COLOR")), nl=False)
    else:  # an unreadable spec is reported in every format: never a silent pass
        click.echo(emit.FORMATS[fmt](findings, failures), nl=False)
    for _, error in failures:
        click.echo(error.format(), err=True)
    if fmt == "text":
        click.echo(emit.summary(findings, len(paths), len(failures)), err=True)
    if write_baseline:
        from ..lint.baseline import write_file

        Path(write_baseline).write_text(write_file(written, batch, dtype), encoding="utf-8")
    if failures or failed:
        raise click.exceptions.Exit(2 if failures else 1)


def _key(spec: str) -> str:
    """A spec argument as a baseline file keys it: a normalised relative path with '/' (zoo names as they are)."""
    return os.path.normpath(spec).replace(os.sep, "/") if spec != "-" else spec


def _baselines(ref: str, sets, input_shape, batch: int, dtype: str):
    """spec path → its Baseline (or None), from a baseline file or a git revision."""
    from ..compare import revision
    from ..lint.baseline import from_revision, read_file
    from ..spec.options import parse_sets, parse_shape
    from ..spec.source import read_text

    if Path(ref).is_file():
        table, at_batch, at_dtype = read_file(read_text(ref), ref)
        if (at_batch, at_dtype) != (batch, dtype):
            raise OptionError(f"{ref} holds figures at batch {at_batch}, {at_dtype}; this run is at batch {batch}, "
                              f"{dtype}", option="--baseline", hint="use the same --batch and --dtype")
        return lambda spec: table.get(_key(spec))
    revision.verify(ref)
    values = parse_sets(sets)
    shape = parse_shape(input_shape, option="--input") if input_shape is not None else None
    return lambda spec: from_revision(ref, spec, values, shape, batch, dtype)


def _flags(select: Optional[str], ignore: Optional[str], strict: Optional[bool], budgets: Dict[str, Any]) -> Dict[str, Any]:
    """The command line's settings, in the shape of a validated `lint:` section."""
    from ..lint import config

    part: Dict[str, Any] = {}
    for key, value in (("select", select), ("ignore", ignore)):
        if value is not None:
            part[key] = config.codes(config.split_codes(value), None, f"--{key}")
    if strict is not None:
        part["strict"] = strict
    for b in config.BUDGETS.values():
        value = budgets.get(f"max_{b.name.replace('-', '_')}")  # click's parameter name for b.flag
        if value is not None:
            part.setdefault("budgets", {})[b.name] = b.parse(value)
    return part


def spec_paths(args, specs_only: bool = False) -> List[str]:
    """Spec arguments with directories and globs expanded to the YAML specs they hold (sorted; hidden files skipped).

    A directory or glob yields the *.yaml/*.yml files with a top-level `layers:` key (other YAML — CI
    workflows, configs — is left alone) and the model files cnncalc imports (.onnx, .cfg, .prototxt, .keras);
    a file named explicitly is always linted, unless `specs_only` (how pre-commit passes files) skips it too when
    it is YAML without `layers:`.
    """
    out: List[str] = []
    for arg in args:
        if arg == "-" or Path(arg).is_file():
            if not (specs_only and arg != "-" and Path(arg).suffix in (".yaml", ".yml") and not _is_spec(Path(arg))):
                out.append(arg)
            continue
        if Path(arg).is_dir():
            candidates = [p for p in Path(arg).rglob("*") if not any(part.startswith(".") for part in p.relative_to(arg).parts)]
        elif any(c in arg for c in "*?["):
            candidates = [Path(p) for p in glob.glob(arg, recursive=True)]
        else:
            out.append(arg)  # a zoo name, or a missing file reported by the loader
            continue
        found = sorted(str(p) for p in candidates if p.is_file() and (p.suffix in (".yaml", ".yml") and _is_spec(p)
                                                                       or p.suffix.lower() in SUFFIXES))
        if not found:
            raise Failure(f"error: no specs (*.yaml or *.yml with `layers:`) in {arg}", 2)
        out += found
    return out


def _is_spec(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return bool(_SPEC_LIKE.search(f.read(1 << 20)))
    except OSError:
        return True  # let the loader report it
