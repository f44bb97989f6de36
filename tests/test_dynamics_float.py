"""Float arithmetic against closed forms of the current-based LIF neuron.

With x = v - v_rest - bias and a current I decaying with tau_s, exact integration over one step is
x[k+1] = x[k] e^{-dt/tm} + I tau_s/(tau_s - tm) (e^{-dt/ts} - e^{-dt/tm}). A weight w arriving at step
a = s + 1 + delay therefore gives, j = k - a + 1 steps after it started (j >= 1 at step a),
x = w tau_s/(tau_s - tm) (e^{-j dt/ts} - e^{-j dt/tm})   (tau_s != tm)
x = w (j dt/tm) e^{-j dt/tm}                             (tau_s == tm)
and the (decayed) current probe reads I = w e^{-j dt/ts}.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from .conftest import simulate

BIG = 1e9  # a threshold that is never reached


def psp(w, j, dt, tm, ts):
    """Closed-form membrane response j steps (j >= 1) after a weight w arrived; 0 for j <= 0."""
    j = np.asarray(j, dtype=np.float64)
    t = j * dt
    if ts == tm:
        x = w * (t / tm) * np.exp(-t / tm)
    else:
        x = w * ts / (ts - tm) * (np.exp(-t / ts) - np.exp(-t / tm))
    return np.where(j >= 1, x, 0.0)


def one_neuron(steps, dt=1.0, inputs=(), projections=(), **pop):
    base = {"name": "n", "size": 1, "tau_mem": 10.0, "tau_syn": 5.0, "v_threshold": BIG}
    return {
        "simulation": {"dt": dt, "steps": steps, "seed": 0, "chip": "unbounded"},
        "populations": [{**base, **pop}],
        "inputs": list(inputs),
        "projections": list(projections),
    }


@pytest.mark.parametrize(("dt", "tm", "ts"), [(1.0, 10.0, 5.0), (0.5, 20.0, 3.0), (0.1, 10.0, 10.0)])
def test_single_psp_matches_closed_form(dt, tm, ts):
    # One input spike at t = 2 ms (step s = rint(2/dt)), weight 3 mV, no delay: arrives at s + 1.
    s = int(round(2.0 / dt))
    steps = s + int(round(40 / dt))
    d = one_neuron(
        steps,
        dt=dt,
        tau_mem=tm,
        tau_syn=ts,
        inputs=[{"name": "in", "kind": "spike_times", "times": [[2.0]]}],
        projections=[{"pre": "in", "post": "n", "weight": 3.0}],
    )
    r = simulate(d, probe=[0])
    k = np.arange(steps)
    j = k - s  # j = 1 at the arrival step s + 1
    np.testing.assert_allclose(r.v[:, 0, 0], psp(3.0, j, dt, tm, ts), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(r.i[:, 0, 0], np.where(j >= 1, 3.0 * np.exp(-j * dt / ts), 0.0), rtol=1e-12)


def test_equal_taus_closed_form_value():
    # tau_s = tm = 10, dt = 1, w = 2: one step after arrival x = 2 * (1/10) e^-0.1 = 0.180967...
    d = one_neuron(
        5,
        tau_mem=10.0,
        tau_syn=10.0,
        inputs=[{"name": "in", "kind": "spike_times", "times": [[0.0]]}],
        projections=[{"pre": "in", "post": "n", "weight": 2.0}],
    )
    r = simulate(d, probe=[0])
    assert r.v[0, 0, 0] == 0.0
    assert r.v[1, 0, 0] == pytest.approx(0.2 * math.exp(-0.1), rel=1e-14)
    assert r.v[2, 0, 0] == pytest.approx(2 * 0.2 * math.exp(-0.2), rel=1e-14)


def test_exact_integration_of_state_recurrence():
    # Nonzero initial state: v(0) = v_init, I(0) = i_init, v_rest = -1, bias 0.5. Closed form of x after
    # k + 1 steps: x = x0 e^{-(k+1)dt/tm} + i0 ts/(ts-tm)(e^{-(k+1)dt/ts} - e^{-(k+1)dt/tm}).
    tm, ts, dt = 15.0, 4.0, 1.0
    d = one_neuron(30, tau_mem=tm, tau_syn=ts, v_rest=-1.0, bias=0.5, v_init=2.0, i_init=1.5)
    r = simulate(d, probe=[0])
    t = (np.arange(30) + 1) * dt
    x0 = 2.0 - (-1.0) - 0.5
    x = x0 * np.exp(-t / tm) + 1.5 * ts / (ts - tm) * (np.exp(-t / ts) - np.exp(-t / tm))
    np.testing.assert_allclose(r.v[:, 0, 0], x + (-1.0) + 0.5, rtol=1e-12)
    np.testing.assert_allclose(r.i[:, 0, 0], 1.5 * np.exp(-t / ts), rtol=1e-12)


@pytest.mark.parametrize(("bias", "tau", "refractory"), [(1.5, 20.0, 2.0), (1.2, 10.0, 0.0), (3.0, 5.0, 5.0)])
def test_bias_driven_isi_matches_analytic(bias, tau, refractory):
    # From reset 0 (v_rest 0, threshold 1) v after m integration steps is bias (1 - e^{-m dt/tau}); it
    # crosses 1 after T = -tau ln(1 - 1/bias), i.e. at the n = ceil(T/dt)-th integration step. The first
    # spike is at step n - 1 (step 0 is the first integration). After a spike at step k, v is held for
    # R - 1 steps (R = rint(refractory/dt), steps k+1..k+R-1) and integrates again from step k + R, so
    # the next spike is at k + max(R - 1, 0) + n.
    dt = 1.0
    T = -tau * math.log(1 - 1 / bias)
    n = math.ceil(T / dt)
    assert T / dt != n  # not on a step boundary
    # n = 22 for (1.5, 20): T = 20 ln 3 = 21.97; n = 18 for (1.2, 10): T = 10 ln 6 = 17.92;
    # n = 3 for (3, 5): T = 5 ln 1.5 = 2.03.
    R = round(refractory / dt)
    isi = n + max(R - 1, 0)
    d = one_neuron(500, tau_mem=tau, v_threshold=1.0, bias=bias, refractory=refractory)
    r = simulate(d)
    assert r.spike_steps() == list(range(n - 1, 500, isi))


def test_refractory_holds_v_at_reset():
    # v_rest 0, v_reset -0.5, bias 3, tau 5, refractory 4 ms (R = 4), dt 1.
    # v(m) from reset: 3 + (-0.5 - 3) e^{-m/5}; exceeds 1 when e^{-m/5} < 2/3.5 -> m > 5 ln 1.75 = 2.80,
    # n = 3. From v_init = v_rest = 0: 3 (1 - e^{-m/5}) > 1 when m > 5 ln 1.5 = 2.03 -> first spike step 2.
    # Spike at k: v = -0.5 at k (reset) and k+1..k+3 (held, R - 1 = 3 steps), then integrates.
    tm, R = 5.0, 4
    d = one_neuron(40, tau_mem=tm, v_threshold=1.0, v_reset=-0.5, bias=3.0, refractory=4.0)
    r = simulate(d, probe=[0])
    spikes = r.spike_steps()
    assert spikes[:3] == [2, 2 + 3 + 3, 2 + 2 * 6]
    v = r.v[:, 0, 0]
    for k in spikes:
        if k + R < 40:
            np.testing.assert_array_equal(v[k : k + R], -0.5)  # spike step + R - 1 held steps
            assert v[k + R] == pytest.approx(3.0 + (-0.5 - 3.0) * math.exp(-1 / tm), rel=1e-14)


def test_current_keeps_decaying_during_refractory():
    # An input spike at 0 ms (w 100, arrives at step 1) gives v[1] = 100 * 5/(5-10) (e^-0.2 - e^-0.1)
    # = 100 * 0.0861 = 8.61 > 5: spike at 1. Refractory 5 ms (R = 5): v held at reset 0 at steps 2..5.
    # The current keeps decaying meanwhile: I = 100 e^{-k/5} after step k >= 1. At step 6 v integrates
    # from 0 with the current left, 100 e^{-1}: v = 100 e^{-1} * 0.0861 = 3.17 < 5 (no spike).
    ce = 5 / (5 - 10) * (math.exp(-0.2) - math.exp(-0.1))
    d = one_neuron(
        7,  # (at step 7 the residual current would cross 5 again: 3.17 e^-0.1 + 100 e^-1.2 * 0.0861 = 5.46)
        v_threshold=5.0,
        refractory=5.0,
        inputs=[{"name": "in", "kind": "spike_times", "times": [[0.0]]}],
        projections=[{"pre": "in", "post": "n", "weight": 100.0}],
    )
    r = simulate(d, probe=[0])
    assert 100 * ce > 5 > 100 * math.exp(-1) * ce
    assert r.spike_steps() == [1]
    k = np.arange(7)
    np.testing.assert_allclose(r.i[:, 0, 0], np.where(k >= 1, 100 * np.exp(-k / 5.0), 0.0), rtol=1e-12)
    np.testing.assert_array_equal(r.v[1:6, 0, 0], 0.0)  # reset at 1, held at 2..5
    assert r.v[6, 0, 0] == pytest.approx(100 * math.exp(-1) * ce, rel=1e-12)


def test_dual_currents_with_different_taus():
    # tau_syn 5 (exc), tau_syn_inh 10 (inh), tau_mem 20. exc w=+2 from a spike at step 1 (arrives 2),
    # inh w=-1 from a spike at step 4 (arrives 5). v = psp(2, k-1; ts=5) + psp(-1, k-4; ts=10).
    d = one_neuron(
        60,
        tau_mem=20.0,
        tau_syn=5.0,
        tau_syn_inh=10.0,
        inputs=[{"name": "in", "kind": "spike_times", "times": [[1.0], [4.0]]}],
        projections=[
            {"pre": "in", "post": "n", "connector": {"type": "list", "pairs": [[0, 0]]}, "weight": 2.0},
            {
                "pre": "in",
                "post": "n",
                "connector": {"type": "list", "pairs": [[1, 0]]},
                "weight": -1.0,
                "receptor": "inh",
            },
        ],
    )
    r = simulate(d, probe=[0])
    k = np.arange(60)
    expected = psp(2.0, k - 1, 1.0, 20.0, 5.0) + psp(-1.0, k - 4, 1.0, 20.0, 10.0)
    np.testing.assert_allclose(r.v[:, 0, 0], expected, rtol=1e-12, atol=1e-14)
    cur = np.where(k >= 2, 2 * np.exp(-(k - 1) / 5.0), 0) + np.where(k >= 5, -np.exp(-(k - 4) / 10.0), 0)
    np.testing.assert_allclose(r.i[:, 0, 0], cur, rtol=1e-12, atol=1e-14)


def test_inh_receptor_without_own_tau_uses_tau_syn():
    # tau_syn_inh unset: receptor "inh" shares the single current (tau_syn = 5).
    d = one_neuron(
        30,
        tau_mem=20.0,
        tau_syn=5.0,
        inputs=[{"name": "in", "kind": "spike_times", "times": [[0.0]]}],
        projections=[{"pre": "in", "post": "n", "weight": -1.5, "receptor": "inh"}],
    )
    r = simulate(d, probe=[0])
    np.testing.assert_allclose(r.v[:, 0, 0], psp(-1.5, np.arange(30), 1.0, 20.0, 5.0), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("dt", "delay_ms"), [(1.0, 0.0), (1.0, 3.0), (0.5, 2.5), (1.0, 200.0)])
def test_delay_shifts_the_response(dt, delay_ms):
    # Spike at t = 1 ms (step s) with delay d = rint(delay/dt) arrives at s + 1 + d.
    s = int(round(1.0 / dt))
    d_steps = int(round(delay_ms / dt))
    steps = s + d_steps + 30
    d = one_neuron(
        steps,
        dt=dt,
        inputs=[{"name": "in", "kind": "spike_times", "times": [[1.0]]}],
        projections=[{"pre": "in", "post": "n", "weight": 1.0, "delay": delay_ms}],
    )
    r = simulate(d, probe=[0])
    k = np.arange(steps)
    np.testing.assert_allclose(r.v[:, 0, 0], psp(1.0, k - s - d_steps, dt, 10.0, 5.0), rtol=1e-12, atol=1e-14)
    assert np.flatnonzero(r.v[:, 0, 0])[0] == s + 1 + d_steps


def test_current_input_start_stop():
    # amplitude 2 mV from 10 ms to 20 ms (steps 10..19), tau_mem 10, dt 1:
    # v[k] = 2 (1 - e^{-(k-9)/10}) for 10 <= k <= 19; afterwards v[k] = v[19] e^{-(k-19)/10}.
    d = one_neuron(
        40,
        inputs=[
            {"name": "c", "kind": "current", "target": "n", "amplitude": 2.0, "start": 10.0, "stop": 20.0}
        ],
    )
    r = simulate(d, probe=[0])
    v = r.v[:, 0, 0]
    k = np.arange(40)
    on = 2 * (1 - np.exp(-(k - 9) / 10.0))
    expected = np.where(k < 10, 0.0, np.where(k <= 19, on, on[19] * np.exp(-(k - 19) / 10.0)))
    np.testing.assert_allclose(v, expected, rtol=1e-12, atol=1e-15)


def test_current_input_per_neuron_amplitude():
    # amplitude [1, 3] mV from 0 (no stop) on a 2-neuron population: v = A (1 - e^{-(k+1)/10}).
    d = one_neuron(
        15, size=2, inputs=[{"name": "c", "kind": "current", "target": "n", "amplitude": [1.0, 3.0]}]
    )
    r = simulate(d, probe=[0, 1])
    t = np.arange(1, 16)
    np.testing.assert_allclose(r.v[:, 0, 0], 1 - np.exp(-t / 10), rtol=1e-12)
    np.testing.assert_allclose(r.v[:, 0, 1], 3 * (1 - np.exp(-t / 10)), rtol=1e-12)


def _relay(rate, size, steps, start=None, stop=None, seed=11):
    """Poisson input -> one_to_one relay neurons that spike the step after each input spike."""
    inp = {"name": "p", "kind": "poisson", "size": size, "rate": rate}
    if start is not None:
        inp["start"] = start
    if stop is not None:
        inp["stop"] = stop
    return {
        "simulation": {"dt": 1.0, "steps": steps, "seed": seed},
        # tau_syn 0.01 ms: the current is gone one step later (e^{-100}); w = 1e5 gives
        # x = 1e5 * 0.01/(0.01 - 10) (e^{-100} - e^{-0.1}) = 90.5 > 1 at the arrival step only.
        "populations": [{"name": "r", "size": size, "tau_mem": 10.0, "tau_syn": 0.01, "v_threshold": 1.0}],
        "inputs": [inp],
        "projections": [{"pre": "p", "post": "r", "connector": "one_to_one", "weight": 1e5}],
    }


def test_poisson_rate_statistics():
    # 200 channels x 1000 steps, p = 50 Hz * 1 ms = 0.05: count ~ Binomial(200000, 0.05),
    # mean 10000, sd = sqrt(200000 * 0.05 * 0.95) = 97.5; allow 5 sd.
    r = simulate(_relay(50.0, 200, 1000), probe=None)
    c = r.sim.counters()
    n = 200 * 1000
    mean, sd = n * 0.05, math.sqrt(n * 0.05 * 0.95)
    assert abs(c["input_spikes"] - mean) < 5 * sd
    # every input spike at step s makes its relay neuron spike at s + 1 (except at the last step)
    assert c["input_spikes"] - 200 * 0.05 * 5 <= c["spikes"] <= c["input_spikes"]
    # per-channel counts: Binomial(1000, 0.05), mean 50, sd 6.9; their spread matches within 30%
    per = np.bincount(r.neuron, minlength=200)
    assert abs(per.mean() - 50) < 5 * math.sqrt(50 * 0.95 / 200) + 1
    assert 0.7 * math.sqrt(1000 * 0.05 * 0.95) < per.std() < 1.3 * math.sqrt(1000 * 0.05 * 0.95)


def test_poisson_rates_per_channel_and_window():
    # Channel rates [0, 100, 500] Hz, active from 100 ms to 600 ms (steps 100..599): relay spikes (one
    # step later) lie in 101..600. Channel 0 never fires; channel 2 fires ~ 500 x 0.5 = 250 times
    # (sd sqrt(500*0.5*0.5) = 11.2), channel 1 ~ 50 (sd 6.7).
    r = simulate(_relay([0.0, 100.0, 500.0], 3, 800, start=100.0, stop=600.0))
    assert r.steps.min() >= 101 and r.steps.max() <= 600
    per = np.bincount(r.neuron, minlength=3)
    assert per[0] == 0
    assert abs(per[1] - 50) < 5 * 6.71
    assert abs(per[2] - 250) < 5 * 11.2


@pytest.mark.brian2
def test_bias_driven_spikes_match_brian2():
    # Independent reference for the step convention of the ISI test above (Brian2, numpy target, exact
    # integration, refractory "unless refractory" on v).
    b2 = pytest.importorskip("brian2")
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = 1 * b2.ms
    group = b2.NeuronGroup(
        1,
        "dv/dt = (-v + 1.5)/(20*ms) : 1 (unless refractory)",
        threshold="v > 1",
        reset="v = 0",
        refractory=2 * b2.ms,
        method="exact",
    )
    mon = b2.SpikeMonitor(group)
    b2.Network(group, mon).run(200 * b2.ms)
    brian = [int(round(float(t / b2.ms))) for t in mon.t]
    r = simulate(one_neuron(200, tau_mem=20.0, v_threshold=1.0, bias=1.5, refractory=2.0))
    assert brian == r.spike_steps() == list(range(21, 200, 23))
