"""Loihi arithmetic as a Brian2 model: the integer compartment step of ``loihi-semantics.md``.

Written from the reference contract (``shared/reference/loihi-semantics.md``, section 2),
not from the engine. One ``NeuronGroup`` per population with int64 variables ``v``, ``u_exc``
(and ``u_inh`` for a dual-current population), the synaptic accumulators ``q_exc``/``q_inh``,
the refractory counter ``ref`` and the bias register ``bias``. Each step, in Brian2's slots:

``groups`` (a ``run_regularly`` operation), for each current channel c::

    q_c = wrap(q_c, 21)
    u_c = wrap(decay(u_c, decay_u_c, 1) + q_c, 23);  q_c = 0
    u2  = wrap(sum_c u_c + bias, 23)
    v   = clip(decay(v, decay_v, 0) + u2, vmin, vmax)   (as two integer steps, no float clip)
    v   = 0 if ref > 0

with ``decay(x, d, off) = sign(x) * ((|x| * (4096 - off - d)) // 4096)`` (the magnitude is
floored, so the result moves toward zero) and ``wrap(x, b) = (x + 2**b) % 2**(b+1) - 2**b``
(Brian2's ``%`` and ``//`` follow Python: floor semantics, so the wrap is two's complement
for negative x as well). ``thresholds``: ``v > vth`` (strict). ``resets``: ``v = 0``,
``ref = refract_delay``. ``after_resets``: ``ref = max(ref - 1, 0)``.

A synapse is ``on_pre='q_exc += w'`` (``q_inh`` for the inh channel) with ``delay =
delay_steps * dt``: a spike at step k adds its weight in the ``synapses`` slot of step
``k + delay``, and the next step's update consumes it (arrival at ``k + 1 + delay``).
"""

from __future__ import annotations

import numpy as np
from brian2 import NeuronGroup

from neuro.errors import NeuroError
from neuro.network import CompiledNetwork

Q_BITS = 21
U_BITS = 23
BIAS_MANT_MAX = 4095
BIAS_EXP_MAX = 7

SYNAPSE_MODEL = "w : integer (constant)"
SYNAPSE_DTYPE = {"w": np.int64}
CHANNELS = ("exc", "inh")


def _wrap(expr: str, bits: int) -> str:
    return f"((({expr}) + {2**bits}) % {2 ** (bits + 1)}) - {2**bits}"


def _decay(var: str, decay: str, offset: int) -> str:
    return f"sign({var}) * ((abs({var}) * ({4096 - offset} - {decay})) // 4096)"


def update_code(channels: tuple) -> str:
    """The ``groups``-slot code of one step (compartment update before the threshold)."""
    lines = []
    for c in channels:
        lines += [
            f"q_{c} = {_wrap(f'q_{c}', Q_BITS)}",
            f"u_{c} = {_wrap(_decay(f'u_{c}', f'decay_u_{c}', 1) + f' + q_{c}', U_BITS)}",
            f"q_{c} = 0",
        ]
    total = " + ".join(f"u_{c}" for c in channels)
    lines += [
        f"u2 = {_wrap(f'{total} + bias', U_BITS)}",
        f"v = {_decay('v', 'decay_v', 0)} + u2",
        "v = v + (vmin - v) * int(v < vmin)",
        "v = v + (vmax - v) * int(v > vmax)",
        "v = v * int(ref == 0)",
    ]
    return "\n".join(lines)


def population_group(net: CompiledNetwork, index: int, clock) -> NeuronGroup:
    """The Brian2 group of population ``index``, with its initial registers set."""
    pop = net.spec.populations[index]
    lp = net.pop_registers[index]
    channels = CHANNELS if pop.dual_current else CHANNELS[:1]
    names = ["v", "ref", "bias"] + [f"{x}_{c}" for c in channels for x in ("u", "q")]
    eqs = "\n".join(f"{x} : integer" + (" (constant)" if x == "bias" else "") for x in names)
    group = NeuronGroup(
        pop.size,
        eqs,
        threshold="v > vth",
        reset="v = 0\nref = refract_delay",
        clock=clock,
        dtype={x: np.int64 for x in names},
        namespace={
            "decay_u_exc": int(lp.decay_u),
            "decay_u_inh": int(lp.decay_u_inh),
            "decay_v": int(lp.decay_v),
            "vth": int(lp.vth),
            "vmin": int(lp.vmin),
            "vmax": int(lp.vmax),
            "refract_delay": int(lp.refract_delay),
        },
        name=f"pop{index}",
    )
    group.run_regularly(update_code(channels), when="groups", name=f"pop{index}_update")
    group.run_regularly("ref = ref - int(ref > 0)", when="after_resets", name=f"pop{index}_refractory")
    group.v = np.asarray(lp.v_init, dtype=np.int64)
    group.u_exc = np.full(pop.size, int(lp.u_init), dtype=np.int64)
    return group


def target(channel: int) -> str:
    """The accumulator a synapse of ``channel`` adds its weight to."""
    return f"q_{CHANNELS[channel]}"


def _split_bias(x: np.ndarray) -> np.ndarray:
    """``bias_mant << bias_exp`` with the smallest exp (0..7) giving ``|bias_mant| <= 4095``."""
    out = np.zeros(x.size, dtype=np.int64)
    todo = np.ones(x.size, dtype=bool)
    for exp in range(BIAS_EXP_MAX + 1):
        mant = np.rint(x / 2**exp)
        ok = todo & (np.abs(mant) <= BIAS_MANT_MAX)
        out[ok] = mant[ok].astype(np.int64) * 2**exp
        todo &= ~ok
    if todo.any():
        raise NeuroError(f"bias with current input needs more than {BIAS_MANT_MAX} << {BIAS_EXP_MAX} units")
    return out


def bias(net: CompiledNetwork, index: int, active: list) -> np.ndarray:
    """Bias register of population ``index`` while the current injections ``active`` flow.

    A current of amplitude ``a`` mV adds ``a * bias_scale`` register units (``a`` itself for raw
    registers) to the bias register, which is then split again into mantissa and exponent.
    """
    name = net.pop_names[index]
    sl = net.pop_slice(name)
    lp = net.pop_registers[index]
    out = net.params["bias"][sl].astype(np.int64)
    for s, amp in active:
        if s != sl:
            continue
        if lp.scale == 0.0:
            out = out + np.rint(amp).astype(np.int64)
        else:
            out = _split_bias(out + amp * lp.bias_scale)
    return out
