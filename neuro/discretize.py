"""Physical parameters (ms, mV) → Loihi compartment registers and integer weights.

The rules (documented in ``docs/spec.md``, section *Loihi discretization*):

* Voltages are measured from ``v_reset`` (the chip resets to 0): the threshold is
  :math:`\\theta = v_{threshold} - v_{reset} > 0` and the resting offset
  :math:`v_{rest} - v_{reset}` becomes part of the bias.
* A voltage scale :math:`s` (register units per mV) puts the threshold at
  ``vth_mant * 2**6`` with ``vth_mant = 4096`` (:data:`VTH_MANT_DEFAULT`), leaving 5 bits of
  headroom below ``vmax = 2**23 - 1``, or with the population's own ``vth_mant``: a larger one
  gives its input weights a finer ``Wgt`` (``s`` scales them too) and less headroom.
* ``decay_v = rint(4096 (1 - e^{-dt/τ_mem}))`` and ``decay_u = rint(4096 (1 - e^{-dt/τ_syn})) - 1``
  (the chip adds 1 back, as in nengo-loihi), clipped to 0..4095.
* A weight ``w`` becomes :math:`W = \\mathrm{rint}(w s c / 2^{6+e}) \\cdot 2^{6+e}` with
  :math:`c` = :func:`current_gain` of its current (the voltage a unit current adds in one step
  in float arithmetic, so the chip's ``u``/``v`` recursion reproduces the float PSP) and the
  smallest weight exponent ``e`` in -6..7 for which every ``|Wgt| <= 2**weight_bits - 1``.
* The bias is scaled by ``decay_v / 4096`` (the register's own leak), so the steady state
  ``bias / (decay_v / 4096)`` is the float one, and stored as ``bias_mant * 2**bias_exp`` with
  the smallest ``bias_exp`` for which ``|bias_mant| <= 4095``.
* adaptive threshold: ``theta_plus`` and ``theta_init`` scaled by :math:`s`;
  ``decay_theta = rint(4096 (1 - e^{-dt/τ_θ}))`` (0 without ``tau_theta``);
* ``refract_delay = max(1, rint(refractory / dt))`` — the same number of held steps as Brian2's
  refractory period in float arithmetic (R - 1 steps after the spike step).
* Rounding is ``numpy.rint`` (half to even) throughout.

NIR's neuron models (``docs/nir.md``): ``tau_syn = 0`` (no synaptic filter) sets
``decay_u = 4095`` (``u`` keeps nothing: ``u = q``) and scales weights by the float gain of a
jump of ``v``, :math:`e^{-dt/\\tau_m}` (1 without a leak); ``leak = false`` sets ``decay_v = 0``
and scales the bias by ``dt / tau_mem``; ``input_bias`` is added to the bias (its steady state:
with a synaptic filter, the filter's transient on the constant current is not modelled on the
chip; without one it is exact); ``spiking = false`` sets ``vth = 2**23``, above ``vmax``, so the
compartment never fires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from neuro.chips import LOIHI_REGISTER_RANGES, LOIHI_WEIGHT_EXP_RANGE
from neuro.errors import NeuroError
from neuro.spec import Population, Projection

log = logging.getLogger(__name__)

VTH_MANT_DEFAULT = 4096
BIAS_MANT_MAX = LOIHI_REGISTER_RANGES["bias_mant"][1]
BIAS_EXP_MAX = LOIHI_REGISTER_RANGES["bias_exp"][1]


@dataclass
class LoihiPopulation:
    """Integer registers of one population, one entry per neuron where they may vary."""

    decay_u: int
    decay_u_inh: int
    decay_v: int
    vth: int  # vth_mant << 6
    bias: np.ndarray  # int64, bias_mant << bias_exp
    refract_delay: int
    vmin: int
    vmax: int
    v_init: np.ndarray  # int64
    u_init: int
    scale: float  # register units of u per mV of exc current (s * c_exc); 0 for raw registers
    v_scale: float  # register units per mV of voltage (s); 0 for raw registers
    scale_inh: float = 0.0  # same for the inh current (s * c_inh)
    bias_scale: float = 0.0  # bias register units per mV of bias (s * decay_v / 4096)
    theta_plus: int = 0  # adaptive-threshold step, voltage register units
    theta_init: int = 0
    decay_theta: int = 0  # theta keeps (4096 - decay_theta)/4096 per step


def split_bias(b: np.ndarray, where: str) -> np.ndarray:
    """Integer bias values ``mant << exp`` with the smallest exp (0..7) giving |mant| <= 4095."""
    out = np.zeros(b.size, dtype=np.int64)
    todo = np.ones(b.size, dtype=bool)
    for exp in range(BIAS_EXP_MAX + 1):
        mant = np.rint(b / 2**exp)
        ok = todo & (np.abs(mant) <= BIAS_MANT_MAX)
        out[ok] = mant[ok].astype(np.int64) << exp
        todo &= ~ok
    if todo.any():
        raise NeuroError(
            f"bias needs more than {BIAS_MANT_MAX} << {BIAS_EXP_MAX} register units", field=where
        )
    return out


def current_gain(dt: float, tau_mem: float, tau_syn: float) -> float:
    """Voltage gained over one step from a unit current decaying with ``tau_syn``:
    :math:`c = \\frac{\\tau_s}{\\tau_s - \\tau_m}(e^{-dt/\\tau_s} - e^{-dt/\\tau_m})`
    (:math:`\\frac{dt}{\\tau_m} e^{-dt/\\tau_m}` when equal) — the float arithmetic's exact
    coefficient, so the chip's recursion ``v = ρ_v v + u`` reproduces the float PSP."""
    em, es = np.exp(-dt / tau_mem), np.exp(-dt / tau_syn)
    return float((dt / tau_mem) * em if tau_syn == tau_mem else tau_syn / (tau_syn - tau_mem) * (es - em))


def _decay(tau: float, dt: float, offset: int) -> int:
    return int(np.clip(np.rint(4096.0 * (1.0 - np.exp(-dt / tau))) - offset, 0, 4095))


def _theta_decay(pop: Population, dt: float, where: str) -> int:
    """``decay_theta`` of an adaptive population; warns when ``tau_theta`` is too long for the
    12-bit register (:math:`\\tau_\\theta > 8192\\,dt` rounds to no decay at all)."""
    if pop.tau_theta is None:
        return 0
    d = _decay(pop.tau_theta, dt, 0)
    if d == 0 and pop.theta_plus:
        log.warning(
            "%s: tau_theta = %g ms is beyond Loihi's threshold-decay resolution (a 12-bit fraction "
            "per step rounds to 0 above %g ms at dt = %g ms): the thresholds will not decay; decay them "
            "from the host instead (e.g. theta_decay_images in the Diehl & Cook model)",
            where,
            pop.tau_theta,
            8192 * dt,
            dt,
        )
    return d


def discretize_population(
    pop: Population, dt: float, bias: np.ndarray, v_init: np.ndarray, where: str
) -> LoihiPopulation:
    """Registers of ``pop`` (``bias`` and ``v_init`` already sampled, in mV)."""
    if pop.loihi is not None:
        r = pop.loihi
        n = pop.size
        bm = (
            r.bias_mant.sample(None, n)
            if r.bias_mant.kind != "constant"
            else np.full(n, r.bias_mant.constant)
        )
        be = r.bias_exp.sample(None, n) if r.bias_exp.kind != "constant" else np.full(n, r.bias_exp.constant)
        vi = r.v_init.sample(None, n) if r.v_init.kind != "constant" else np.full(n, r.v_init.constant)
        return LoihiPopulation(
            decay_u=r.decay_u,
            decay_u_inh=r.decay_u if r.decay_u_inh is None else r.decay_u_inh,
            decay_v=r.decay_v,
            vth=r.vth_mant << 6,
            bias=(bm.astype(np.int64) << be.astype(np.int64)),
            refract_delay=r.refract_delay,
            vmin=-(2**r.vmin_exp) + 1,
            vmax=2 ** (9 + 2 * r.vmax_exp) - 1,
            v_init=vi.astype(np.int64),
            u_init=0,
            scale=0.0,
            v_scale=0.0,
            scale_inh=0.0,
            theta_plus=int(pop.theta_plus),
            theta_init=int(pop.theta_init),
            decay_theta=_theta_decay(pop, dt, where),
        )
    theta = pop.v_threshold - pop.v_reset
    if theta <= 0:
        raise NeuroError(
            f"Loihi arithmetic needs v_threshold > v_reset, got {pop.v_threshold} <= {pop.v_reset}",
            field=f"{where}.v_threshold",
        )
    vth_mant = VTH_MANT_DEFAULT if pop.vth_mant is None else pop.vth_mant
    s = vth_mant * 64 / theta
    tau_inh = pop.tau_syn if pop.tau_syn_inh is None else pop.tau_syn_inh
    decay_v = _decay(pop.tau_mem, dt, 0) if pop.leak else 0
    if pop.tau_syn > 0:
        gain = current_gain(dt, pop.tau_mem, pop.tau_syn)
        decay_u = _decay(pop.tau_syn, dt, 1)
    else:  # no filter: u = q, and the float's jump of v decays over its step
        gain = float(np.exp(-dt / pop.tau_mem)) if pop.leak else 1.0
        decay_u = 4095
    if pop.input_bias is not None:
        bias = bias + pop.input_bias.sample(None, pop.size)
    if pop.leak:
        g = decay_v / 4096 if decay_v else 1.0 - np.exp(-dt / pop.tau_mem)
        drive = (bias + (pop.v_rest - pop.v_reset)) * s * g
    else:
        g = dt / pop.tau_mem
        drive = bias * s * g
    v0 = np.rint((v_init - pop.v_reset) * s)
    if np.abs(v0).max(initial=0) > 2**23 - 1:
        raise NeuroError(
            "initial voltage out of the 24-bit register range after scaling", field=f"{where}.v_init"
        )
    return LoihiPopulation(
        decay_u=decay_u,
        decay_u_inh=decay_u if tau_inh == pop.tau_syn else _decay(tau_inh, dt, 1),
        decay_v=decay_v,
        vth=vth_mant << 6 if pop.spiking else 2**23,
        bias=split_bias(drive, f"{where}.bias"),
        refract_delay=max(1, int(np.rint(pop.refractory / dt))),
        vmin=-(2**23) + 1,
        vmax=2**23 - 1,
        v_init=v0.astype(np.int64),
        u_init=int(np.rint(pop.i_init * s * gain)),
        scale=s * gain,
        v_scale=s,
        scale_inh=s * (gain if tau_inh == pop.tau_syn else current_gain(dt, pop.tau_mem, tau_inh)),
        bias_scale=s * g,
        theta_plus=int(np.rint(pop.theta_plus * s)),
        theta_init=int(np.rint(pop.theta_init * s)),
        decay_theta=_theta_decay(pop, dt, where),
    )


def discretize_weights(proj: Projection, weight: np.ndarray, post: LoihiPopulation, where: str) -> tuple:
    """Integer register weights ``W = Wgt << (6 + weight_exp)`` for one projection.

    Returns ``(W, weight_exp)``; ``W`` is int32 (``|W| <= 255 << 13``).
    """
    from neuro.construction import loihi_weight_peak, loihi_weights

    if proj.weight_exp is not None:
        e = proj.weight_exp
        wgt = np.rint(weight).astype(np.int64)
        return (wgt * 2 ** (6 + e)).astype(np.int32), e
    wmax = 2**proj.weight_bits - 1
    scale = post.scale_inh if proj.receptor == "inh" else post.scale
    weight = np.ascontiguousarray(weight, dtype=np.float64)
    peak = loihi_weight_peak(weight, float(scale))
    if proj.plasticity is not None:  # learned weights must fit too
        peak = max(peak, abs(proj.plasticity.w_min) * scale, abs(proj.plasticity.w_max) * scale)
    for e in range(LOIHI_WEIGHT_EXP_RANGE[0], LOIHI_WEIGHT_EXP_RANGE[1] + 1):
        if peak / 2 ** (6 + e) <= wmax + 0.5:
            out = np.empty(weight.size, dtype=np.int32)
            loihi_weights(weight, float(scale), float(2 ** (6 + e)), float(wmax), out)
            return out, e
    raise NeuroError(
        f"weights too large for Loihi: {peak:.0f} register units exceed {wmax} << 13", field=f"{where}.weight"
    )


# --------------------------------------------------------------------------- registers -> physical
def register_scale(proj: Projection, post: LoihiPopulation) -> float:
    """Register units of ``u`` per mV of a projection's weights: the scale of the current it
    feeds (``scale_inh`` for the ``inh`` receptor; 0 for raw-register populations)."""
    return post.scale_inh if proj.receptor == "inh" else post.scale


def wgt_per_mv(proj: Projection, post: LoihiPopulation, weight_exp: int) -> float:
    """Weight-mantissa units (``Wgt``) per mV of a projection's weights: the inverse of
    :func:`discretize_weights` for reports, learning tables and homeostasis (1 for raw
    register weights, which have no physical unit)."""
    if proj.weight_exp is not None:
        return 1.0
    return register_scale(proj, post) / 2.0 ** (6 + weight_exp)


def weights_to_mv(
    proj: Projection, post: LoihiPopulation, weight_exp: int, weights: np.ndarray
) -> np.ndarray:
    """Engine weights ``Wgt << (6 + weight_exp)`` of a projection back to mV."""
    w = np.asarray(weights, dtype=np.float64)
    return w if proj.weight_exp is not None else w / register_scale(proj, post)


def voltage_to_mv(post: LoihiPopulation, v: np.ndarray) -> np.ndarray:
    """Voltage-register values (v, vth, theta) of a population back to mV above ``v_reset``."""
    v = np.asarray(v, dtype=np.float64)
    return v if post.v_scale == 0.0 else v / post.v_scale
