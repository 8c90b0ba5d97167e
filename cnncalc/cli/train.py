"""`cnncalc train`: what one training step costs, per layer and in total; the largest batch that fits; a NumPy step."""
from __future__ import annotations

import click

from ..errors import OptionError, SpecError
from .options import ByteSize, Failure, console, load_network


def _checkpoints(values):
    return tuple(part.strip() for v in values for part in v.split(",") if part.strip())


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("--input", "input_shape", metavar="C,H,W|SIZE",
              help="Override the spec's input shape (no batch); one number sets every spatial size.")
@click.option("--batch", type=click.IntRange(1, 1 << 20), default=1, show_default=True, help="Batch size.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a spec variable (repeatable).")
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam", "adamw", "rmsprop"]), default="adam",
              show_default=True, help="Optimizer: its state per parameter and its update FLOPs.")
@click.option("--precision", type=click.Choice(["fp32", "fp16-mixed", "bf16-mixed"]), default="fp32",
              show_default=True, help="fp32, or half-precision activations with fp32 master weights.")
@click.option("--device", type=click.Choice(["cuda", "cpu"]), default="cuda", show_default=True,
              help="Where PyTorch would run the step (dropout's mask: bool on CUDA, float on the CPU).")
@click.option("--checkpoint", "checkpoint", multiple=True, metavar="NAMES|DEPTH",
              help="Activation checkpointing what-if: layer or container names (comma-separated), or a depth N "
                   "(every container N levels down).")
@click.option("--fit", "fit_budget", type=ByteSize(), metavar="SIZE",
              help="Find the largest batch whose training peak fits SIZE (24GiB, 512MiB).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
              show_default=True, help="Output format; json/csv/markdown give exact integers.")
@click.option("--run", is_flag=True, help="Also run one training step in NumPy: gradient shapes, measured peak.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the NumPy step's weights and data.")
def train(spec, input_shape, batch, sets, optimizer, precision, device, checkpoint, fit_budget, fmt, run, seed):
    """What one training step costs: per layer forward FLOPs, backward FLOPs (input and weight gradients), the
    bytes autograd saves for backward, gradients and optimizer state; totals and the step's peak memory.

    SPEC is a YAML file, a bundled network's name (see `cnncalc zoo`), or - for standard input.

    \b
    Examples:
      cnncalc train resnet50 --batch 64 --optimizer adamw --precision bf16-mixed
      cnncalc train resnet50 --fit 24GiB --optimizer adam
      cnncalc train resnet50 --batch 32 --checkpoint layer3,layer4
      cnncalc train lenet5 --batch 8 --run
    """
    from ..core.train import fit, train as train_step

    ck = _checkpoints(checkpoint)
    fit_info = None
    try:
        network = load_network(spec, sets, input_shape)
        if fit_budget is not None:
            batch, step, over = fit(network, fit_budget, optimizer, precision, ck, device)
            fit_info = {"budget": fit_budget, "batch": batch, "peak_bytes": step.totals.peak_bytes,
                        "next_peak_bytes": over.totals.peak_bytes if over else None}
        else:
            step = train_step(network, batch, optimizer, precision, ck, device)
    except SpecError as e:  # with --format json, the documented `error` object too: never an empty stdout
        if fmt == "json" and not (isinstance(e, OptionError) and e.option):
            from ..render.jsonout import dumps
            from ..render.train import failure_dict

            click.echo(dumps(failure_dict(spec, e, batch, optimizer, precision)))
        raise
    if fmt == "table":
        from ..render.train import train_table

        out = console()
        out.print(train_table(step, out.width, fit_info), crop=False)
    else:
        from ..render import train as render

        text = {"json": lambda: render.render_json([step], [fit_info]), "csv": lambda: render.render_csv([step]),
                "markdown": lambda: render.render_markdown([step], [fit_info])}[fmt]()
        click.echo(text, nl=False)
    if run:
        from ..runtime.train_step import check_step

        report = check_step(step, seed)
        from ..render.train import run_text

        click.echo(run_text(report), err=fmt != "table")
        if not report.ok:
            raise Failure("\n".join(report.errors), 1)
