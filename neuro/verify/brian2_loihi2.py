"""Loihi 2 arithmetic (Lava 0.10's bit-accurate LIF and Dense) as a Brian2 model.

Written from the reference contract (``shared/reference/loihi2-semantics.md``, sections 2-3),
not from the engine. One ``NeuronGroup`` per population with int64 variables ``v``, ``u``, the
bias register ``bias`` and one synaptic accumulator ``q_c`` per ring-buffer channel: ``q_0``
for every projection whose weight exponent is ``>= 0`` (weights already shifted by it) and one
per projection with a negative exponent ``e`` (its sum is floored by ``2**-e`` on its own, as
each Lava ``Dense`` does). Each step, in the ``groups`` slot::

    a   = q_0 + sum_c q_c // 2**shift_c                (floor division: Lava's >>)
    act = wrap32(wrap32(a) * 64)
    s   = wrap32(decay(u, keep_u) + act)
    u   = s - 2**24 if s > 2**23;  s + 2**24 if s <= -2**23;  s otherwise
    v   = clip(decay(v, keep_v) + u + bias, -(2**23 - 1), 2**23 - 1)

with ``decay(x, k) = sign(x) * ((|x| * k) // 4096)``, ``keep_u = 4095 - decay_u``, ``keep_v =
4096 - decay_v`` and ``wrap32(x) = (x + 2**31) % 2**32 - 2**31``. ``thresholds``: ``v > vth``;
``resets``: ``v = 0`` (no refractory period). Synapses: ``on_pre='q_c += w'`` with ``delay =
delay_steps * dt`` (arrival at ``k + 1 + delay``). Graded payloads have no Brian2 spike
generator and are refused by :func:`neuro.verify.brian2_net.check_expressible`.
"""

from __future__ import annotations

import numpy as np
from brian2 import NeuronGroup

from neuro.network import CompiledNetwork
from neuro.verify.brian2_loihi import bias  # noqa: F401  (the same bias register rule)

SYNAPSE_MODEL = "w : integer (constant)"
SYNAPSE_DTYPE = {"w": np.int64}
U_FOLD = 2**23
V_LIMIT = 2**23 - 1


def _wrap32(expr: str) -> str:
    return f"((({expr}) + {2**31}) % {2**32}) - {2**31}"


def _decay(var: str, keep: str) -> str:
    return f"sign({var}) * ((abs({var}) * {keep}) // 4096)"


def update_code(shifts: list) -> str:
    """The ``groups``-slot code of one step (before the threshold)."""
    terms = ["q_0"] + [f"(q_{c} // {2**s})" for c, s in enumerate(shifts) if c > 0]
    lines = [
        f"a = {' + '.join(terms)}",
        f"act = {_wrap32('(' + _wrap32('a') + ') * 64')}",
        f"s = {_wrap32(_decay('u', 'keep_u') + ' + act')}",
        f"u = s - {2 * U_FOLD} * int(s > {U_FOLD}) + {2 * U_FOLD} * int(s <= {-U_FOLD})",
        f"v = {_decay('v', 'keep_v')} + u + bias",
        f"v = v + ({-V_LIMIT} - v) * int(v < {-V_LIMIT})",
        f"v = v + ({V_LIMIT} - v) * int(v > {V_LIMIT})",
    ]
    lines += [f"q_{c} = 0" for c in range(len(shifts))]
    return "\n".join(lines)


def population_group(net: CompiledNetwork, index: int, clock) -> NeuronGroup:
    """The Brian2 group of population ``index``, with its initial registers set."""
    pop = net.spec.populations[index]
    lp = net.pop_registers[index]
    shifts = [int(s) for s in net.params["shift"]]
    names = ["v", "u", "bias", "a", "act", "s"] + [f"q_{c}" for c in range(len(shifts))]
    eqs = "\n".join(f"{x} : integer" + (" (constant)" if x == "bias" else "") for x in names)
    group = NeuronGroup(
        pop.size,
        eqs,
        threshold="v > vth",
        reset="v = 0",
        clock=clock,
        dtype={x: np.int64 for x in names},
        namespace={"keep_u": 4095 - int(lp.decay_u), "keep_v": 4096 - int(lp.decay_v), "vth": int(lp.vth)},
        name=f"pop{index}",
    )
    group.run_regularly(update_code(shifts), when="groups", name=f"pop{index}_update")
    group.v = np.asarray(lp.v_init, dtype=np.int64)
    group.u = np.full(pop.size, int(lp.u_init), dtype=np.int64)
    return group


def target(channel: int) -> str:
    """The accumulator a synapse of ``channel`` adds its weight to."""
    return f"q_{channel}"
