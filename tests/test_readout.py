"""neuro.models.readout: the label readouts, against scores worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.errors import NeuroError
from neuro.models.diehl_cook_protocol import assign_labels, make_config, predict
from neuro.models.readout import N_CLASSES, READOUTS, Labelling, bind

# three neurons, labelling images of classes 0, 0, 1, 2 (classes 3-9 have none):
#   neuron 0 answers to 0s (4 and 2 spikes) and a little to 1s (3): r = (3, 3, 0) -> a tie,
#     broken to the first class (0)
#   neuron 1 answers to 1s (6) and 2s (2): r = (0, 6, 2), label 1, shares (0, 3/4, 1/4)
#   neuron 2 never fires: label -1, shares 0
COUNTS = np.array([[4, 0, 0], [2, 0, 0], [3, 6, 0], [0, 2, 0]])
LABELS = np.array([0, 0, 1, 2])


def test_labelling_measures_the_class_responses():
    lab = Labelling.measure(COUNTS, LABELS)
    assert lab.class_spikes[:3].tolist() == [[6, 0, 0], [3, 6, 0], [0, 2, 0]]
    assert not lab.class_spikes[3:].any()
    assert lab.class_images.tolist() == [2, 1, 1] + [0] * 7
    assert lab.labels.tolist() == [0, 1, -1]
    np.testing.assert_allclose(lab.shares[:3], [[0.5, 0, 0], [0.5, 0.75, 0], [0, 0.25, 0]])
    assert lab.labels.tolist() == assign_labels(COUNTS, LABELS).tolist()


def test_each_readout_by_hand():
    lab = Labelling.measure(COUNTS, LABELS)
    # image A: neuron 0 fires 2, neuron 1 fires 3.
    #   vote:       s_0 = 2, s_1 = 3 (others -1)                         -> 1
    #   proportion: s_0 = 0.5 * 2 = 1, s_1 = 0.75 * 3 = 2.25             -> 1
    #   soft:       s_0 = 0.5*2 = 1, s_1 = 0.5*2 + 0.75*3 = 3.25, s_2 = 0.25*3 = 0.75 -> 1
    # image B: neuron 0 fires 5, neuron 1 fires 4.
    #   vote:       s_0 = 5, s_1 = 4                                      -> 0
    #   proportion: s_0 = 2.5, s_1 = 3                                    -> 1
    #   soft:       s_0 = 2.5, s_1 = 2.5 + 3 = 5.5, s_2 = 1               -> 1
    # image C: neuron 0 fires 1, neuron 1 fires 8.
    #   soft: s_0 = 0.5, s_1 = 0.5 + 6 = 6.5, s_2 = 2 -> 1; vote, proportion -> 1
    # image D: nothing fires: every readout answers the first class with a neuron (0)
    counts = np.array([[2, 3, 0], [5, 4, 0], [1, 8, 0], [0, 0, 0]])
    assert READOUTS["vote"].predict(counts, lab).tolist() == [1, 0, 1, 0]
    assert READOUTS["proportion"].predict(counts, lab).tolist() == [1, 1, 1, 0]
    assert READOUTS["soft"].predict(counts, lab).tolist() == [1, 1, 1, 0]
    # the vote is Diehl & Cook's predict() from the labels alone
    assert READOUTS["vote"].predict(counts, lab).tolist() == predict(counts, lab.labels).tolist()


def test_soft_splits_a_neurons_spikes_between_its_classes():
    # neuron 0 answers to 3s and 8s alike (8 and 7 spikes a class), neuron 1 to 8s only (5): an
    # image where neuron 0 fires 10 and neuron 1 fires 4 is an 8 for soft (s_8 = 10*7/15 + 4 =
    # 8.67 against s_3 = 10*8/15 = 5.33) and a 3 for the vote (neuron 0 is labelled 3: 10 > 4)
    counts = np.array([[8, 0], [7, 5]])
    lab = Labelling.measure(counts, np.array([3, 8]))
    img = np.array([[10, 4]])
    assert READOUTS["vote"].predict(img, lab).tolist() == [3]
    assert READOUTS["soft"].predict(img, lab).tolist() == [8]


def test_kept_in_a_checkpoint_and_back():
    lab = Labelling.measure(COUNTS, LABELS)
    extra = lab.to_extra()
    back = Labelling.from_extra(extra, "ckpt.h5", responses=True)
    for a, b in zip(lab, back, strict=True):
        np.testing.assert_array_equal(a, b)
    counts = np.array([[2, 3, 0], [5, 4, 0]])
    assert bind("soft", extra, "ckpt.h5")(counts).tolist() == READOUTS["soft"].predict(counts, lab).tolist()


def test_a_run_labelled_before_the_responses_were_kept():
    extra = {"assignments": [0, 1, -1]}
    assert bind("vote", extra, "run/checkpoint.h5")(np.array([[5, 4, 0]])).tolist() == [0]
    with pytest.raises(NeuroError, match="keeps no labelling responses.*--readout vote") as exc:
        bind("soft", extra, "run/checkpoint.h5")
    assert "run/checkpoint.h5" in str(exc.value)


@pytest.mark.parametrize(
    "spikes, images",
    [
        ([[1, 2, 3]] * 9, [1] * 10),  # 9 classes
        ([[1, 2]] * 10, [1] * 10),  # 2 neurons, 3 labels
        ([[1, -2, 3]] * 10, [1] * 10),  # negative
        ([[1, 2, 3]] * 10, [1] * 9),
        ("abc", [1] * 10),
    ],
)
def test_damaged_responses_are_refused(spikes, images):
    extra = {"assignments": [0, 1, -1], "class_spikes": spikes, "class_images": images}
    with pytest.raises(NeuroError, match=f"must be {N_CLASSES}x3"):
        Labelling.from_extra(extra, "ckpt.h5", responses=True)


def test_the_config_names_a_readout():
    assert make_config(100, {}, "embedded").readout == "soft"  # the preset's
    assert make_config(100, {}, "paper").readout == "vote"  # Diehl & Cook's
    assert make_config(100, {"readout": "proportion"}, "embedded").readout == "proportion"
    with pytest.raises(NeuroError, match="must be one of vote, proportion, soft, got 'best'"):
        make_config(100, {"readout": "best"}, "embedded")


def test_a_checkpoint_naming_an_unknown_readout_is_refused(tmp_path):
    from neuro.io.runstate import check_config

    config = make_config(4, {}, "embedded").to_dict()
    check_config(config, "run/checkpoint.h5")
    for bad, match in (("best", "one of vote, proportion, soft"), (3, "must be a name")):
        with pytest.raises(NeuroError, match=match) as exc:
            check_config(dict(config, readout=bad), "run/checkpoint.h5")
        assert str(exc.value).startswith("run/checkpoint.h5")
