"""The ``neuro`` command line: thin wrappers that parse options and call library functions."""

from __future__ import annotations

import json
import logging
import sys

import click

from neuro import __version__
from neuro.errors import NeuroError


class _Group(click.Group):
    """Turn :class:`NeuroError` into a one-line message and exit status 2."""

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


@main.command()
@click.argument("spec", type=click.Path())
@click.option(
    "-o",
    "--output",
    "outdir",
    required=True,
    type=click.Path(file_okay=False),
    help="Output directory; receives spikes.h5 (SONATA).",
)
@click.option("--steps", type=click.IntRange(min=0), help="Number of steps (overrides the spec).")
@click.option("--seed", type=click.IntRange(min=0), help="Seed of the run's generator (overrides the spec).")
@click.option(
    "--arithmetic", type=click.Choice(["float", "loihi"]), help="float64 reference or Loihi bit-exact."
)
@click.option("--chip", help="Chip profile: loihi or unbounded.")
@click.option("--chips", type=click.IntRange(min=1), help="Number of chips the mapper may use.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output directory.")
@click.pass_context
def run(ctx, spec, outdir, steps, seed, arithmetic, chip, chips, overwrite):
    """Simulate SPEC (a TOML network) and write OUTDIR/spikes.h5."""
    from pathlib import Path

    from neuro.run import check_outdir, prepare, run_spec
    from neuro.spec import load_spec

    check_outdir(Path(outdir), overwrite)
    net = prepare(load_spec(spec), steps, seed, arithmetic, chip, chips)
    try:
        res = run_spec(net, outdir, overwrite=overwrite, progress=not ctx.obj["quiet"])
    except KeyboardInterrupt:
        click.echo(f"interrupted: {outdir}/spikes.h5 is readable and marked incomplete", err=True)
        ctx.exit(130)
    c = res.counters
    click.echo(
        f"{res.path}: {c['spikes']} spikes in {res.steps} steps ({res.compiled.arithmetic}, "
        f"seed {res.seed}, {res.placement.n_cores} {res.placement.profile.name} cores, "
        f"{c['synaptic_events']} synaptic events, {res.wall_s:.2f} s)"
    )


@main.command("map")
@click.argument("spec", type=click.Path())
@click.option("--chips", type=click.IntRange(min=1), help="Number of chips the mapper may use.")
@click.option("--chip", help="Chip profile: loihi or unbounded.")
@click.option("--arithmetic", type=click.Choice(["float", "loihi"]))
@click.option("--seed", type=click.IntRange(min=0))
@click.option("--json", "as_json", is_flag=True, help="Print the placement as JSON.")
def map_cmd(spec, chips, chip, arithmetic, seed, as_json):
    """Place SPEC on chip cores and print per-core utilization."""
    from neuro.chips import get_profile
    from neuro.mapping import place
    from neuro.network import compile_network
    from neuro.report import placement_table
    from neuro.run import prepare
    from neuro.spec import load_spec

    net = prepare(load_spec(spec), None, seed, arithmetic, chip, chips)
    compiled = compile_network(net)
    placement = place(compiled, get_profile(net.simulation.chip), net.simulation.chips)
    if as_json:
        click.echo(json.dumps(placement.to_dict(), indent=1))
    else:
        click.echo(placement_table(placement))


if __name__ == "__main__":
    main()
