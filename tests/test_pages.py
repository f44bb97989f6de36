"""neuro.io.pages: numpy's huge-page advice switched off inside the block, restored after."""

from __future__ import annotations

import pytest

from neuro.io import pages


@pytest.mark.skipif(pages._set_madvise_hugepage is None, reason="this numpy has no huge-page switch")
def test_small_pages_switches_the_advice_off_and_restores_it():
    switch = pages._set_madvise_hugepage
    before = switch(True)  # the switch returns the previous setting
    try:
        with pages.small_pages():
            assert switch(False) is False  # off inside
        assert switch(True) is True  # on again after
        with pytest.raises(RuntimeError), pages.small_pages():
            raise RuntimeError("restored on errors too")
        assert switch(True) is True
    finally:
        switch(before)
