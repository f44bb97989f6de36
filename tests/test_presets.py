"""The Diehl & Cook presets fit Loihi's registers (docs/training.md, "Loihi registers of the
embedded preset"): no learning coefficient rounds to zero or far from its float value, the
threshold step and the host's threshold decay are represented to a small relative error, the
learned weights keep more than 7 bits, and the per-step decay the preset avoids really is zero.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.learning.tables import build_loihi_tables, trace_kappa
from neuro.models.diehl_cook import build_network
from neuro.models.diehl_cook_protocol import make_config
from neuro.network import compile_network


@pytest.fixture(scope="module")
def loihi_embedded():
    cfg = make_config(100, {}, "embedded")
    net = compile_network(build_network(cfg, "loihi", 0))
    return cfg, net, build_loihi_tables(net)


def test_learning_coefficients_are_represented(loihi_embedded):
    """Each term's m * 2^e against its float value in Wgt units (nu_pre * y1 * x0: 0.1496 Wgt
    -> 5 * 2^-5, +4.5 %; nu_post * x1 * y2 * y0: 15.08 Wgt -> 4 * 2^2, +6.1 %)."""
    cfg, net, tables = loihi_embedded
    a = tables.arrays
    p = [pr.name for pr in net.spec.projections].index("input")
    pl = net.spec.projections[p].plasticity
    w_max_wgt = a["w_max"][0]
    lsb = w_max_wgt / (cfg.w_max * cfg.input_gain)  # Wgt per mV (floor of the register's w_max)
    for t, term in enumerate(pl.terms):
        want = abs(term.coef) * lsb
        for name in ("x1", "x2", "y1", "y2", "y3"):
            want *= (128.0 / trace_kappa(pl.traces[name])) ** term.power(name) if term.power(name) else 1.0
        got = abs(a["t_mant"][0, t]) * 2.0 ** a["t_exp"][0, t]
        assert a["t_mant"][0, t] != 0
        assert got / want == pytest.approx(1.0, abs=0.08), (t, got, want)
    assert sorted(a["t_mant"][0].tolist()) == [-5, 4] and sorted(a["t_exp"][0].tolist()) == [-5, 2]


def test_weights_keep_more_than_seven_bits(loihi_embedded):
    cfg, net, tables = loihi_embedded
    assert tables.arrays["w_max"][0] == 148  # 60 mV at weight_exp -1: 148 Wgt levels
    mean_wgt = cfg.norm_target / 784 * tables.arrays["w_max"][0]  # the normalized mean weight
    assert mean_wgt > 14  # about 14.7 Wgt: normalization's rounding moves a weight < 3.4 %


def test_threshold_step_and_host_decay(loihi_embedded):
    cfg, net, _ = loihi_embedded
    exc = net.pop_registers[net.pop_names.index("exc")]
    assert exc.decay_theta == 0  # no register decay: the host decays theta (theta_decay_images)
    assert exc.theta_plus == round(cfg.theta_plus * exc.v_scale) == 4033  # 0.2 mV, error < 1e-4
    steps = cfg.theta_decay_images * (cfg.present_steps + cfg.rest_steps)
    d_exact = 4096 * (1 - np.exp(-steps * cfg.dt / cfg.tau_theta))
    assert round(d_exact) == 20 and abs(round(d_exact) - d_exact) / d_exact < 0.03
    # what the preset avoids: the same tau as a per-step register decay rounds to nothing
    paper = compile_network(
        build_network(make_config(100, {"theta_decay_images": 0}, "embedded"), "loihi", 0)
    )
    assert paper.pop_registers[paper.pop_names.index("exc")].decay_theta == 0
    assert paper.spec.populations[0].tau_theta == cfg.tau_theta


@pytest.mark.parametrize(
    "arithmetic, learned, f, want",
    [
        ("float", [0.0, 1.0, 5.0, 10.0], 0.4, [4.0, 4.0, 5.0, 10.0]),
        ("loihi", [0, 3, 7, 25], 0.5, [12, 12, 12, 25]),  # floor(12.5): a register value
        ("float", [0.0, 1.0, 5.0, 10.0], 0.0, [0.0, 1.0, 5.0, 10.0]),  # 0: the learned ones
    ],
)
def test_frozen_theta_floor_by_hand(arithmetic, learned, f, want):
    """The frozen network's excitatory thresholds are raised to f x the largest; the
    inhibitory population's are untouched."""
    from neuro.models.diehl_cook import frozen_theta

    cfg = make_config(4, {"frozen_theta_floor": f}, "embedded")
    net = compile_network(build_network(cfg, arithmetic, 0))
    theta = np.full(net.n_neurons, 2 if net.target.integer else 2.0, dtype=np.asarray(learned).dtype)
    theta[net.pop_slice("exc")] = learned
    out = frozen_theta(cfg, net, theta)
    assert out[net.pop_slice("exc")].tolist() == want
    assert out[net.pop_slice("inh")].tolist() == [2] * 4
    assert theta[net.pop_slice("exc")].tolist() == learned  # the learned array is not modified


def test_frozen_theta_floor_range():
    from neuro.errors import NeuroError

    for bad in (-0.1, 1.0):
        with pytest.raises(NeuroError, match="frozen_theta_floor"):
            make_config(100, {"frozen_theta_floor": bad}, "embedded")


def test_vth_mant_refines_the_weight_grid():
    """``--set vth_mant=5939`` (x1.45 the default 4096, a trial of docs/training.md): the exc
    threshold register is 5939 << 6, the input weights' Wgt per mV grows by 5939/4096 at the same
    exponent (w_max 60 mV: 148 -> 215 Wgt of 255), and the float network is untouched."""
    from neuro.io.synapses import projection_tables

    def input_scale(net):
        k = [t.name for t in projection_tables(net)].index("input")
        regs = net.target.weight_registers(net, k)
        return regs["register_per_mv"] / 2.0 ** (6 + regs["weight_exp"]), regs["weight_exp"]

    nets = {}
    for v in (None, 5939):
        cfg = make_config(100, {} if v is None else {"vth_mant": str(v)}, "embedded")
        nets[v] = {a: compile_network(build_network(cfg, a, 0)) for a in ("loihi", "float")}
    assert nets[None]["loihi"].pop_registers[0].vth == 4096 << 6
    assert nets[5939]["loihi"].pop_registers[0].vth == 5939 << 6
    (lsb0, e0), (lsb1, e1) = input_scale(nets[None]["loihi"]), input_scale(nets[5939]["loihi"])
    assert e0 == e1 == -1
    assert lsb1 / lsb0 == pytest.approx(5939 / 4096, rel=1e-12)
    assert round(60 * lsb0) == 148 and round(60 * lsb1) == 215
    np.testing.assert_array_equal(nets[None]["float"].weight, nets[5939]["float"].weight)


def test_vth_mant_range():
    from neuro.errors import NeuroError

    with pytest.raises(NeuroError, match="vth_mant"):
        make_config(100, {"vth_mant": "131072"}, "embedded")


def test_no_learning_rate_schedule_by_default():
    """Both presets keep Diehl & Cook's rule (no reward factor) and never write the reward
    register: the schedule is off unless r_start or r_end is set."""
    from neuro.engine import Simulator
    from neuro.inputs import ScheduledInputs
    from neuro.models.diehl_cook_protocol import Presenter

    for preset in ("embedded", "paper"):
        cfg = make_config(10, {}, preset)
        assert not cfg.scheduled
        pl = build_network(cfg, "float", 0).projections[0].plasticity
        assert pl.kind == "diehl_cook" and all(t.power("r") == 0 for t in pl.terms)
    sim = Simulator(compile_network(build_network(cfg, "loihi", 0)), inputs=ScheduledInputs(), learning=True)
    Presenter(sim, cfg).before_image(3, 0, 100)
    assert sim.tables.arrays["reward"][0] == 0


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_learning_rate_schedule_through_the_reward_register(arithmetic):
    """``--set r_end=0.25``: both terms of the rule carry r, and before each training image the
    host writes r_int = round(128 (1/4)^(i/(T-1))) clipped to 127 (r_start 1): 127 at the first
    image, 64 half-way (128 * 0.5), 32 at the last; float reads r_int / 128."""
    from neuro.engine import Simulator
    from neuro.inputs import ScheduledInputs
    from neuro.models.diehl_cook import reward_int
    from neuro.models.diehl_cook_protocol import Presenter

    cfg = make_config(10, {"r_end": "0.25"}, "embedded")
    assert cfg.scheduled
    net = compile_network(build_network(cfg, arithmetic, 0))
    pl = net.spec.projections[0].plasticity
    assert pl.kind == "rule" and [t.power("r") for t in pl.terms] == [1, 1]
    assert [t.dependency for t in pl.terms] == ["y0", "x0"] and pl.terms[0].power("y2") == 1
    total = 12001
    assert [reward_int(cfg, i, total) for i in (0, 6000, 12000)] == [127, 64, 32]
    sim = Simulator(net, inputs=ScheduledInputs(), learning=True)
    pres = Presenter(sim, cfg)
    for i, want in ((0, 127), (6000, 64), (12000, 32)):
        pres.before_image(1, i, total)
        got = sim.tables.arrays["reward"][0]
        assert got == (want if arithmetic == "loihi" else want / 128), (i, got)
    # the pair rule (post2_factor 0) takes the factor too
    pair = build_network(make_config(10, {"r_end": "0.5", "post2_factor": "0"}, "embedded"), arithmetic, 0)
    pl = pair.projections[0].plasticity
    assert [t.power("r") for t in pl.terms] == [1, 1] and pl.terms[0].power("y2") == 0


def test_learning_rate_schedule_range():
    from neuro.errors import NeuroError

    for key, bad in (("r_end", "0"), ("r_end", "0.001"), ("r_start", "1.5"), ("r_end", "-0.25")):
        with pytest.raises(NeuroError, match=key):
            make_config(100, {key: bad}, "embedded")
