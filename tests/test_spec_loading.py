"""The spec loader at its boundary: hostile files and values give one line, never a traceback."""

from __future__ import annotations

import copy
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuro.errors import NeuroError
from neuro.spec import Network, load_spec

from .conftest import assert_one_line_error

BASE = {
    "simulation": {"dt": 1.0, "steps": 10, "seed": 1},
    "populations": [{"name": "a", "size": 3}, {"name": "r", "size": 2, "tau_syn_inh": 9.0}],
    "inputs": [{"name": "in", "kind": "spike_times", "times": [[1.0], [2.0]]}],
    "projections": [
        {"pre": "in", "post": "r", "connector": "one_to_one"},
        {"pre": "a", "post": "r", "weight": {"dist": "uniform", "low": 0, "high": 1}},
        {"pre": "a", "post": "a", "connector": {"type": "list", "pairs": [[0, 1], [1, 2]]}},
    ],
    "probes": [{"population": "a"}],
}


def _toml(path, text: str):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text,needle",
    [
        ('[[populations]]\nname = "a"\nsize = 2\nx = ' + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
        (
            '[[populations]]\nname = "a"\nsize = 2\n[[projections]]\npre = "a"\npost = "a"\n'
            'connector = {type = "list", pairs = [[0, 1], [1]]}\n',
            "same length",
        ),
        (
            '[[populations]]\nname = "a"\nsize = 2\n[[projections]]\npre = "a"\npost = "a"\n'
            'connector = {type = "matrix", values = [[1.0, 0.0], [1.0]]}\n',
            "same length",
        ),
        ('[[populations]]\nname = "a"\nsize = 2\nbias = {dist = [1]}\n', "dist"),
        ('[simulation]\nduration = 1e308\ndt = 0.5\n[[populations]]\nname = "a"\nsize = 1\n', "2**40"),
        ('[simulation]\nduration = 10.0\ndt = 5e-324\n[[populations]]\nname = "a"\nsize = 1\n', "2**40"),
    ],
)
def test_hostile_specs_are_one_line_errors(tmp_path, text, needle):
    with pytest.raises(NeuroError) as e:
        load_spec(_toml(tmp_path / "s.toml", text))
    assert_one_line_error(e.value, "s.toml", needle)


def test_non_utf8_spec(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(b'[[populations]]\nname = "\xff\xfe"\nsize = 2\n')
    with pytest.raises(NeuroError) as e:
        load_spec(path)
    assert_one_line_error(e.value, "s.toml", "UTF-8")


def _npy_cases(tmp_path):
    np.save(tmp_path / "strings.npy", np.array(["a", "b"]))
    np.save(tmp_path / "structured.npy", np.zeros(2, dtype=[("x", "f8"), ("y", "i4")]))
    with zipfile.ZipFile(tmp_path / "npz.npy", "w") as z:
        z.writestr("arr_0.npy", b"")
    (tmp_path / "empty.npy").write_bytes(b"")
    # a valid header claiming 10**12 float64 elements, with no data behind it
    hdr = {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    with open(tmp_path / "huge.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, hdr)
    np.save(tmp_path / "short.npy", np.zeros(10))
    data = (tmp_path / "short.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(data[:-8])
    return {
        "strings.npy": "numbers",
        "structured.npy": "numbers",
        "npz.npy": "not a .npy",
        "empty.npy": "empty",
        "huge.npy": "1,000,000,000,000 elements",
        "short.npy": "truncated",
    }


def test_bad_npy_files_are_refused_before_allocation(tmp_path):
    for name, needle in _npy_cases(tmp_path).items():
        spec = _toml(tmp_path / "s.toml", f'[[populations]]\nname = "a"\nsize = 2\nbias = "{name}"\n')
        with pytest.raises(NeuroError) as e:
            load_spec(spec)
        assert_one_line_error(e.value, "populations[0].bias", name, needle)


# --------------------------------------------------------------------------- properties
JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(["w.npy", "uniform", "normal", "all_to_all", "a", "r", "in", "list", "matrix"]),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
    max_leaves=12,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(BASE) if p]


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=JSONISH, drop=st.booleans())
def test_mutated_specs_load_or_give_one_line(path, value, drop):
    d = copy.deepcopy(BASE)
    node = d
    for key in path[:-1]:
        node = node[key]
    if drop and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    try:
        net = Network.from_dict(d, source="m.toml")
    except NeuroError as exc:
        assert_one_line_error(exc)
    else:
        assert Network.from_dict(net.to_dict()) == net  # what loads round-trips
