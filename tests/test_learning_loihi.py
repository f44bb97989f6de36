"""Loihi-arithmetic learning against integers worked out by hand from the documented formulas.

From :mod:`neuro.learning.loihi`: at the end of each epoch, for each synapse of a flagged row
(pre spike) or column (post spike)::

    term = m * prod(factors) shifted by (e + 7 - 7 * n_traces - weight_bits * n_w - 7 * n_r)
           (a right shift truncates toward minus infinity)
    acc  = clip(sum of terms, -2^15, 2^15 - 1)
    Wgt  = clip(Wgt + (acc >> 7) + [rand7 < (acc & 127)], w_min, w_max)

with 7-bit integer traces (0..127, read as int/128), ``w = Wgt / 2^weight_bits``, ``r = r_int /
128`` and ``rand7`` the low 7 bits of SplitMix64 (key, stream = synapse position, counter =
epoch). Then impulses (``SR(impulse)``, add mode saturating at 127), then every trace decays:
``SR(trace * exp(-epoch dt / tau))``. ``SR`` is stochastic rounding with 53 random bits.

The random bits are recomputed here from the PRNG's documented formula (pure Python integers),
independently of :mod:`neuro.learning.prng`.

The networks use raw registers: ``post`` neurons with ``vth = 2^14 << 6``, full decay of u and v
every step, a ``kick`` input (Wgt 255 << 13) that makes every post neuron spike one step later,
and a plastic projection from ``pre`` with raw weights (``weight_exp = 0``), too weak to fire.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuro.engine import Simulator
from neuro.network import compile_network
from neuro.spec import Network

# --------------------------------------------------------------------------- the PRNG, by hand
MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z: int) -> int:
    z &= MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def bits(key: int, stream: int, counter: int) -> int:
    return mix64((key + stream * GOLDEN + mix64(counter)) & MASK)


def rand7(key: int, synapse: int, epoch: int) -> int:
    return bits(key, synapse, epoch) & 127


def sr(value: float, key: int, stream: int, counter: int) -> int:
    f = math.floor(value)
    u = (bits(key, stream, counter) >> 11) * 2.0**-53
    return f + (1 if u < value - f else 0)


def trace_stream(kind: str, rule: int, trace: int, index: int) -> int:
    base = 1 << 62 if kind == "decay" else 1 << 61
    return (base + ((rule * 8 + trace) << 36) + index) & MASK


def dwgt(acc: int, key: int, synapse: int, epoch: int) -> int:
    """Weight change for an accumulator value (already saturated), with stochastic rounding."""
    return (acc >> 7) + (1 if rand7(key, synapse, epoch) < (acc & 127) else 0)


# --------------------------------------------------------------------------- networks
REGS = {"decay_u": 4095, "decay_v": 4095, "vth_mant": 2**14}
FLAT = {"tau": 1e20}  # exp(-1/1e20) == 1.0 exactly: the trace does not decay


def raw_spec(plasticity, pre_times, kick_times=(), n_post=1, w0=100, steps=40, weight_bits=8, post=None):
    """``pre_times``: one list per pre channel; the kick fires every post neuron."""
    proj = {"pre": "pre", "post": "post", "weight": w0, "weight_exp": 0, "plasticity": plasticity}
    if weight_bits != 8:
        proj["weight_bits"] = weight_bits
    return {
        "simulation": {"dt": 1.0, "steps": steps, "seed": 5, "arithmetic": "loihi"},
        "inputs": [
            {"name": "pre", "kind": "spike_times", "times": [list(t) for t in pre_times]},
            {"name": "kick", "kind": "spike_times", "times": [[t - 1 for t in kick_times]]},
        ],
        "populations": [{"name": "post", "size": n_post, "loihi": REGS, **(post or {})}],
        "projections": [
            proj,
            {"pre": "kick", "post": "post", "weight": 255 if kick_times else 0, "weight_exp": 7},
        ],
    }


def build(spec, **kw):
    c = compile_network(Network.from_dict(spec))
    return Simulator(c, **kw)


def positions(sim, p=0) -> np.ndarray:
    return list(sim.net.projection_positions())[p]


def wgt(sim, p=0) -> np.ndarray:
    """Wgt of projection ``p``'s synapses (register weight >> (6 + weight_exp))."""
    c = sim.net
    return c.weight[positions(sim, p)].astype(np.int64) >> (6 + c.weight_exps[p])


def key(sim) -> int:
    return int(sim.tables.arrays["key"][0])


def rule(text, **kw):
    return {"kind": "rule", "rule": text, "w_min": -255, "w_max": 255, **kw}


IMP64 = {**FLAT, "impulse": 64}


# --------------------------------------------------------------------------- one epoch by hand
def test_potentiation_exact():
    # pre at 5 -> x1 = 64 (impulse, no decay); post at 10 reads it:
    # term 5*2^1*x1*y0: 5 * 64 = 320, shift 1 + 7 - 7 = +1 -> acc = 640; 640 >> 7 = 5, 640 & 127 = 0
    sim = build(raw_spec(rule("dw = 5*2^1*x1*y0 - 3*y1*x0", x1=IMP64, y1=IMP64), [[5.0]], [10.0]))
    sim.run(40)
    assert wgt(sim).tolist() == [105]
    t = sim.tables.arrays
    assert t["x"][0, 0, sim.net.source_offset("pre")] == 64 and t["y"][0, 0, 0] == 64


def test_depression_with_stochastic_rounding():
    # post at 10 -> y1 = 64; pre at 15 reads it: -3 is stored as m = -6, e = -1:
    # -6 * 64 = -384, shift -1 + 7 - 7 = -1 -> -384 >> 1 = -192 = acc
    # -192 >> 7 = -2, -192 & 127 = 64 -> dWgt = -2 + [rand7(key, s, 15) < 64]
    sim = build(raw_spec(rule("dw = 5*2^1*x1*y0 - 3*y1*x0", x1=IMP64, y1=IMP64), [[15.0]], [10.0]))
    t = sim.tables.arrays
    assert (t["t_mant"][0].tolist(), t["t_exp"][0].tolist()) == ([5, -6], [1, -1])
    sim.run(40)
    s = int(positions(sim)[0])
    assert wgt(sim).tolist() == [100 + dwgt(-192, key(sim), s, 15)]


def test_stochastic_rounding_over_many_synapses_by_hand():
    # 200 post neurons fire at 10 (y1 = 37 each, 'set', no decay); pre at 12 reads them:
    # term -5*2^-2*y1*x0: -5 * 37 = -185, shift -2 -> -185 >> 2 = -47 (floor of -46.25) = acc
    # -47 >> 7 = -1, -47 & 127 = 81 -> dWgt = -1 + [rand7 < 81], a different draw per synapse
    y1 = {**FLAT, "impulse": 37, "mode": "set"}
    sim = build(raw_spec(rule("dw = -5*2^-2*y1*x0", y1=y1), [[12.0]], [10.0], n_post=200))
    sim.run(20)
    k = key(sim)
    expected = [100 + dwgt(-47, k, int(s), 12) for s in positions(sim)]
    assert wgt(sim).tolist() == expected
    assert 0 < sum(e == 100 for e in expected) < 200  # both outcomes occur


def test_per_term_truncation_toward_minus_infinity():
    # ten equal terms -7*2^-7*x1*y0 with x1 = 100: each -700 >> 7 = -6 (floor of -5.47), so
    # acc = -60 -> dWgt = -1 + [rand7 < 68]. Summing before shifting would give -7000 >> 7 = -55
    # (-1 + [rand7 < 73]); truncating toward zero would give -50 (-1 + [rand7 < 78]).
    text = "dw = " + " ".join(["- 7*2^-7*x1*y0"] * 10)
    x1 = {**FLAT, "impulse": 100, "mode": "set"}
    sim = build(raw_spec(rule(text, x1=x1), [[3.0]], [8.0], n_post=300))
    sim.run(10)
    k, got = key(sim), wgt(sim).tolist()
    ours = [100 + dwgt(-60, k, int(s), 8) for s in positions(sim)]
    assert got == ours
    # the draws do tell the three readings apart on this network
    assert ours != [100 + dwgt(-55, k, int(s), 8) for s in positions(sim)]
    assert ours != [100 + dwgt(-50, k, int(s), 8) for s in positions(sim)]


def test_truncation_to_zero_of_a_tiny_term():
    # 2^-7 * x1 with x1 = 127: 1 * 127, shift -7 + 7 - 7 = -7 -> 127 >> 7 = 0: never any change
    x1 = {**FLAT, "impulse": 127, "mode": "set"}
    sim = build(raw_spec(rule("dw = 2^-7*x1*y0", x1=x1), [[3.0]], [5.0, 8.0, 11.0], n_post=50))
    sim.run(20)
    assert (wgt(sim) == 100).all()


def test_accumulator_saturates_at_15_bits_plus_sign():
    # positive: 7*2^8*x1*y0, x1 = 127: 889 << 8 = 227584 -> 32767; 32767 >> 7 = 255, & 127 = 127
    #   w0 = -255 -> -255 + 255 + [rand7 < 127] = 0 or 1 (without saturation: +1778 -> clipped 255)
    x1 = {**FLAT, "impulse": 127}
    sim = build(raw_spec(rule("dw = 7*2^8*x1*y0", x1=x1), [[2.0]], [6.0], w0=-255))
    sim.run(10)
    s = int(positions(sim)[0])
    assert wgt(sim).tolist() == [-255 + dwgt(32767, key(sim), s, 6)]
    # negative: -8*2^8*x1*y0: -1016 << 8 = -260096 -> -32768; >> 7 = -256, & 127 = 0
    #   w0 = 255 -> 255 - 256 = -1 exactly (without saturation: -2032 -> clipped -255)
    sim = build(raw_spec(rule("dw = -8*2^8*x1*y0", x1=x1), [[2.0]], [6.0], w0=255))
    sim.run(10)
    assert wgt(sim).tolist() == [-1]


@pytest.mark.parametrize(
    ("bits", "w_min", "w_max", "sign", "expected"),
    [
        (8, -255, 1000, 1, 255),  # w_max beyond 8 bits: clipped at 2^8 - 1
        (8, -1000, 255, -1, -255),  # and below at -(2^8 - 1)
        (4, -255, 255, 1, 15),  # 4-bit weights: 2^4 - 1
        (4, -255, 255, -1, -15),
        (8, -20, 200, 1, 200),  # w_max inside the range
        (8, -20, 200, -1, -20),  # w_min inside the range
    ],
)
def test_weight_clip(bits, w_min, w_max, sign, expected):
    # dw = +-2^7 * x0: m = +-1, e = 7, shift 7 + 7 = 14 -> acc = +-16384 -> dWgt = +-128 per epoch,
    # pre at 1, 2, 3 (three epochs): 10 +- 384 -> clipped
    pl = {"kind": "rule", "rule": f"dw = {'-' if sign < 0 else ''}2^7*x0", "w_min": w_min, "w_max": w_max}
    sim = build(raw_spec(pl, [[1.0, 2.0, 3.0]], w0=10, weight_bits=bits))
    sim.run(5)
    assert wgt(sim).tolist() == [expected]


def test_trace_saturates_at_127():
    # add-mode impulse 100 at pre spikes 2 and 4: min(100 + 100, 127) = 127 (no decay)
    # post at 8: 2^7*x1*y0: m = 1, e = 7, shift 7 -> 127 << 7 = 16256 -> dWgt = 127 exactly
    x1 = {**FLAT, "impulse": 100}
    sim = build(raw_spec(rule("dw = 2^7*x1*y0", x1=x1), [[2.0, 4.0]], [8.0], w0=0))
    sim.run(3)
    assert sim.tables.arrays["x"][0, 0, sim.net.source_offset("pre")] == 100
    sim.run(7)
    assert sim.tables.arrays["x"][0, 0, sim.net.source_offset("pre")] == 127
    assert wgt(sim).tolist() == [127]


def test_weight_factor():
    # -2^5*w*x0 is stored as m = -8, e = 2; w = Wgt / 2^8: shift 2 + 7 - 8 = 1
    # Wgt = 100: -8 * 100 = -800 << 1 = -1600 = acc -> -1600 >> 7 = -13, -1600 & 127 = 64
    # (the exact value is -32 * 100 / 256 = -12.5)
    sim = build(raw_spec(rule("dw = -2^5*w*x0"), [[4.0]], w0=100))
    assert sim.tables.arrays["t_mant"][0, 0] == -8 and sim.tables.arrays["t_exp"][0, 0] == 2
    sim.run(6)
    s = int(positions(sim)[0])
    assert wgt(sim).tolist() == [100 + dwgt(-1600, key(sim), s, 4)]


def test_weight_factor_with_4_bit_weights():
    # 2^3*w*x0 (m = 1, e = 3) with 4-bit weights: shift 3 + 7 - 4 = 6; Wgt = 12 -> 12 << 6 = 768
    # -> dWgt = 6 exactly (= 8 * 12 / 16), then 18 is clipped to 15
    sim = build(raw_spec(rule("dw = 2^3*w*x0"), [[4.0]], w0=12, weight_bits=4))
    sim.run(6)
    assert wgt(sim).tolist() == [15]
    sim = build(raw_spec(rule("dw = 2^3*w*x0"), [[4.0]], w0=4, weight_bits=4))
    sim.run(6)
    assert wgt(sim).tolist() == [6]  # 4 << 6 = 256 -> +2


@pytest.mark.parametrize(("r_int", "expected"), [(0, 100), (10, 110), (-20, 80), (-128, -28)])
def test_reward_factor(r_int, expected):
    # 2^7*r*x0: m = 1, e = 7, shift 7 + 7 - 7 = 7 -> acc = r_int << 7 -> dWgt = r_int exactly
    sim = build(raw_spec(rule("dw = 2^7*r*x0"), [[4.0]], w0=100))
    sim.tables.arrays["reward"][0] = r_int
    sim.run(6)
    assert wgt(sim).tolist() == [expected]


def test_trace_decay_and_impulse_by_hand():
    # x1: impulse 10.3 (add), tau 10: at the end of each epoch with a pre spike the trace gets
    # SR(10.3) (impulse stream), then every trace decays: SR(x * e^{-1/10}) (decay stream).
    # Pre spikes at 2 and 5 on 8 channels; traces read after step 9.
    x1 = {"tau": 10.0, "impulse": 10.3}
    sim = build(raw_spec(rule("dw = x1*y0", x1=x1), [[2.0, 5.0]] * 8))
    sim.run(10)
    k, d = key(sim), math.exp(-0.1)
    src0 = sim.net.source_offset("pre")
    for ch in range(8):
        i = src0 + ch
        x = 0
        for step in range(10):
            if step in (2, 5):
                x = min(x + sr(10.3, k, trace_stream("impulse", 0, 0, i), step), 127)
            if x != 0:
                x = sr(x * d, k, trace_stream("decay", 0, 0, i), step)
        assert sim.tables.arrays["x"][0, 0, i] == x, ch


# --------------------------------------------------------------------------- epochs
def test_epoch_gives_one_update_at_its_end():
    # epoch 4: steps 0-3, 4-7, 8-11. dw = 2^2*x0 (m = 4, e = 0): 4 << 7 = 512 -> +4 per update.
    # pre at 1 and 2 (epoch 0), 5 (epoch 1), 9 and 11 (epoch 2): three updates, one per epoch,
    # applied at the end of steps 3, 7 and 11.
    sim = build(raw_spec(rule("dw = 2^2*x0", epoch=4), [[1.0, 2.0, 5.0, 9.0, 11.0]], w0=100))
    expected = {3: 100, 4: 104, 7: 104, 8: 108, 11: 108, 12: 112, 20: 112}
    for steps, w in expected.items():
        sim.run(steps - sim.step)
        assert wgt(sim).tolist() == [w], steps
    assert sim.counters()["learning_weight_updates"] == 3  # one flagged row (fan-out 1) per epoch
    assert sim.counters()["learning_trace_updates"] == 3


def test_epoch_reads_traces_before_its_own_impulses():
    # epoch 4, no decay: pre at 1 and post at 2 fall in the same epoch, so the post term reads
    # x1 = 0 (the pre impulse comes after the weight updates): no change. Post again at 5
    # (epoch 1) reads x1 = 64: 5*2^1*x1*y0 -> +5.
    pl = rule("dw = 5*2^1*x1*y0", x1=IMP64, epoch=4)
    sim = build(raw_spec(pl, [[1.0]], [2.0, 5.0]))
    sim.run(4)
    assert wgt(sim).tolist() == [100]
    sim.run(4)
    assert wgt(sim).tolist() == [105]


def test_epoch_decay_uses_epoch_times_dt():
    # epoch 3, tau 6: d = e^{-3/6} per epoch. Impulse 64 (exact) at the end of epoch 0 (pre at 1)
    # then decays at the end of epochs 0, 1, 2 (steps 2, 5, 8): SR each time.
    pl = rule("dw = x1*y0", x1={"tau": 6.0, "impulse": 64}, epoch=3)
    sim = build(raw_spec(pl, [[1.0]]))
    sim.run(9)
    k, i = key(sim), sim.net.source_offset("pre")
    x = 64
    for e in range(3):
        x = sr(x * math.exp(-0.5), k, trace_stream("decay", 0, 0, i), e)
    assert sim.tables.arrays["x"][0, 0, i] == x


# --------------------------------------------------------------------------- statistics of rounding
N_SYN = 4096


@pytest.mark.parametrize(
    ("text", "w0", "mean"), [("dw = 3*2^-4*x0", 0, 0.1875), ("dw = -3*2^-4*x0", 100, -0.1875)]
)
def test_stochastic_rounding_is_unbiased(text, w0, mean):
    # acc = +-(6 << 2) = +-24: dWgt = 0 + [rand7 < 24] or -1 + [rand7 < 104]; E = +-24/128.
    # One pre channel onto 4096 post neurons, a pre spike in each of T = 8 epochs.
    # Each epoch: mean dWgt over N synapses within 4 sigma, sigma = sqrt(p (1-p) / N), p = 24/128;
    # over all: sigma = sqrt(p (1-p) / (N T)); and the fraction of synapses that never drew the
    # outcome of probability p (+1, or -1 for the negative rule) is q = (1-p)^T within
    # 4 sqrt(q (1-q) / N). A draw shared by the synapses or by the epochs would fail these.
    T = 8
    sim = build(
        raw_spec(
            {"kind": "rule", "rule": text, "w_min": -255, "w_max": 255}, [list(range(T))], n_post=N_SYN, w0=w0
        )
    )
    p = 24 / 128
    sig = math.sqrt(p * (1 - p) / N_SYN)
    prev = wgt(sim)
    ups = np.zeros(N_SYN, dtype=np.int64)
    for _ in range(T):
        sim.run(1)
        now = wgt(sim)
        d = now - prev
        assert abs(d.mean() - mean) < 4 * sig
        ups += d == (1 if mean > 0 else -1)  # the outcome of probability p = 24/128
        prev = now
    total = (wgt(sim) - w0).mean() / T
    assert abs(total - mean) < 4 * sig / math.sqrt(T)
    q = (1 - p) ** T
    assert abs((ups == 0).mean() - q) < 4 * math.sqrt(q * (1 - q) / N_SYN)


def test_trace_decay_rounding_is_unbiased():
    # 4096 pre channels spike at step 0 (impulse 100, tau 10): after 1 epoch x = SR(100 d),
    # E[x] = 100 d, sigma of the mean = sqrt(f (1 - f) / N) with f = frac(100 d).
    # After K = 6 epochs E[x] = 100 d^K (SR is unbiased and linear in expectation), and the
    # variance of one trace is at most K/4 (each rounding adds at most 1/4, then shrinks by d^2).
    x1 = {"tau": 10.0, "impulse": 100, "mode": "set"}
    sim = build(raw_spec(rule("dw = x1*y0", x1=x1), [[0.0]] * N_SYN))
    src = slice(sim.net.source_offset("pre"), sim.net.source_offset("pre") + N_SYN)
    d = math.exp(-0.1)
    sim.run(1)
    x = sim.tables.arrays["x"][0, 0, src]
    f = 100 * d - math.floor(100 * d)
    assert set(np.unique(x).tolist()) == {math.floor(100 * d), math.floor(100 * d) + 1}
    assert abs(x.mean() - 100 * d) < 4 * math.sqrt(f * (1 - f) / N_SYN)
    sim.run(5)
    x = sim.tables.arrays["x"][0, 0, src]
    assert abs(x.mean() - 100 * d**6) < 4 * math.sqrt(6 / 4 / N_SYN)


def test_impulse_rounding_is_unbiased():
    # impulse 10.3, no decay: x = SR(10.3) in {10, 11}, E = 10.3, sigma = sqrt(0.3 * 0.7 / N)
    x1 = {**FLAT, "impulse": 10.3}
    sim = build(raw_spec(rule("dw = x1*y0", x1=x1), [[0.0]] * N_SYN))
    sim.run(1)
    src0 = sim.net.source_offset("pre")
    x = sim.tables.arrays["x"][0, 0, src0 : src0 + N_SYN]
    assert set(np.unique(x).tolist()) == {10, 11}
    assert abs(x.mean() - 10.3) < 4 * math.sqrt(0.21 / N_SYN)


# --------------------------------------------------------------------------- physical units
def phys_spec(pre_time, post_time, n_pre, n_post, w_min=0.0):
    """Pair STDP in mV on physical-unit neurons (loihi arithmetic); kicks fire the post neurons."""
    pop = {"name": "post", "size": n_post, "tau_mem": 10.0, "tau_syn": 0.1, "v_threshold": 1.0}
    pl = {"kind": "pair_stdp", "A_plus": 0.05, "A_minus": 0.06, "tau_plus": 20.0, "tau_minus": 20.0}
    return {
        "simulation": {"dt": 1.0, "steps": 70, "seed": 11, "arithmetic": "loihi"},
        "inputs": [
            {"name": "pre", "kind": "spike_times", "times": [[pre_time]] * n_pre},
            {"name": "kick", "kind": "spike_times", "times": [[post_time - 1]]},
        ],
        "populations": [pop],
        "projections": [
            {"pre": "pre", "post": "post", "weight": 0.0, "plasticity": {**pl, "w_min": w_min, "w_max": 1.0}},
            {"pre": "kick", "post": "post", "weight": 200.0},
        ],
    }


@pytest.mark.parametrize(("delta", "n_pre", "n_post", "term"), [(5, 2048, 1, 0), (-5, 1, 2048, 1)])
def test_pair_stdp_in_weight_units_is_unbiased(delta, n_pre, n_post, term):
    # Coefficients in Wgt: c = A * lsb * 128 / 64 (add-mode traces map an impulse of 1 to 64, read
    # as int/128), lsb = Wgt per mV = scale / 2^(6 + weight_exp); (m, e) is the nearest m * 2^e.
    # The pair reads a trace 5 epochs after its impulse of 64: E = 64 d^5, d = e^{-1/20}, so
    # E[dWgt] = m 2^e 64 d^5 / 128 (e >= 0: no truncation). Per synapse the variance is at most
    # 1/4 (rounding) + (m 2^e / 128)^2 * 5/4 (trace roundings); every synapse reads its own trace.
    sim = build(phys_spec(50.0, 50.0 + delta, n_pre, n_post, w_min=-1.0))
    c, t = sim.net, sim.tables.arrays
    lp = c.pop_registers[0]
    lsb = lp.scale / 2.0 ** (6 + c.weight_exps[0])
    a = (0.05, -0.06)[term]
    coef = a * lsb * 128 / 64
    m, e = int(t["t_mant"][0, term]), int(t["t_exp"][0, term])
    assert e >= 0 and -8 <= m <= 7
    assert abs(m * 2.0**e - coef) <= 2.0 ** (e - 1)  # nearest representable scale
    sim.run(70)
    assert sim.counters()["spikes"] == n_post
    dw = wgt(sim).astype(float)
    mean = m * 2.0**e * 64 * math.exp(-5 / 20) / 128
    sigma = math.sqrt((0.25 + (m * 2.0**e / 128) ** 2 * 5 / 4) / dw.size)
    assert abs(dw.mean() - mean) < 4 * sigma
    # and, in mV, close to the analytic pair curve up to the 4-bit scale's rounding
    assert dw.mean() / lsb == pytest.approx(a * math.exp(-5 / 20), rel=0.125)


# --------------------------------------------------------------------------- event-driven updates
def test_pre_spike_touches_only_its_own_row_and_counts():
    # sources A (3 channels) and B (2) both plastic onto 'post' (4 neurons), A also static onto
    # 'other'. dw = 2^2*x0 (+4 per update). A's channel 1 spikes at 2 and 3 (one epoch of 4) and
    # channel 2 at 6: two flagged rows of fan-out 4 -> 8 weight updates, rows 1 and 2 get +4.
    spec = {
        "simulation": {"dt": 1.0, "steps": 12, "seed": 0, "arithmetic": "loihi"},
        "inputs": [
            {"name": "A", "kind": "spike_times", "times": [[], [2.0, 3.0], [6.0]]},
            {"name": "B", "kind": "spike_times", "times": [[], []]},
        ],
        "populations": [
            {"name": "post", "size": 4, "loihi": REGS},
            {"name": "other", "size": 2, "loihi": REGS},
        ],
        "projections": [
            {
                "pre": "A",
                "post": "post",
                "weight": 10,
                "weight_exp": 0,
                "plasticity": rule("dw = 2^2*x0", epoch=4),
            },
            {
                "pre": "B",
                "post": "post",
                "weight": 10,
                "weight_exp": 0,
                "plasticity": rule("dw = 2^2*x0", epoch=4),
            },
            {"pre": "A", "post": "other", "weight": 20, "weight_exp": 0},
        ],
    }
    sim = build(spec)
    before = [wgt(sim, p).copy() for p in range(3)]
    sim.run(12)
    row = np.repeat(np.arange(3), 4)
    np.testing.assert_array_equal(wgt(sim, 0), before[0] + np.where(row >= 1, 4, 0))
    np.testing.assert_array_equal(wgt(sim, 1), before[1])
    np.testing.assert_array_equal(wgt(sim, 2), before[2])
    assert sim.counters()["learning_weight_updates"] == 2 * 4


def test_post_spike_touches_only_its_own_column():
    # dw = 2^2*y0: the kick fires only post neuron 1 (list connector); its column gets +4
    spec = raw_spec(rule("dw = 2^2*y0"), [[], [], []], [4.0], n_post=3)
    spec["projections"][1]["connector"] = {"type": "list", "pairs": [[0, 1]]}
    sim = build(spec)
    sim.run(8)
    col = np.tile(np.arange(3), 3)
    np.testing.assert_array_equal(wgt(sim), np.where(col == 1, 104, 100))
    assert sim.counters()["learning_weight_updates"] == 3


# --------------------------------------------------------------------------- adaptive threshold
def test_adaptive_threshold_integer_decay():
    # theta_plus = 1000 register units, tau_theta = 50: decay_theta = rint(4096 (1 - e^{-1/50})) = 81.
    # Every step theta = (theta * (4096 - 81)) >> 12 (theta >= 0); at a spike (steps 10, 20) += 1000.
    post = {"theta_plus": 1000.0, "tau_theta": 50.0, "theta_init": 300.0}
    spec = raw_spec(rule("dw = x0"), [[]], [10.0, 20.0], post=post)
    sim = build(spec)
    assert sim.params["decay_theta"][0] == 81
    spikes = []
    sim.run(30, on_spikes=lambda s, b, n: spikes.extend(s.tolist()))
    assert spikes == [10, 20]
    theta = 300
    for k in range(30):
        theta = (theta * (4096 - 81)) >> 12
        if k in (10, 20):
            theta += 1000
    assert sim.state["theta"][0, 0] == theta
    # learning off: thresholds frozen
    sim = build(spec, learning=False)
    sim.run(30)
    assert sim.state["theta"][0, 0] == 300
    # learning on, adapt off: frozen too
    sim = build(spec, adapt=False)
    sim.run(30)
    assert sim.state["theta"][0, 0] == 300


def test_learning_off_freezes_loihi_weights():
    sim = build(
        raw_spec(rule("dw = 5*2^1*x1*y0 - 3*y1*x0", x1=IMP64, y1=IMP64), [[5.0, 15.0]], [10.0]),
        learning=False,
    )
    sim.run(40)
    assert wgt(sim).tolist() == [100]
    assert not sim.learning
