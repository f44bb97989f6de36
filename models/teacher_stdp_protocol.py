"""How the teacher-gated model is trained: Diehl & Cook's presentation plus the teacher's spikes
and the reward register's schedule (:mod:`neuro.models.teacher_stdp`)."""

from __future__ import annotations

import numpy as np

from neuro.learning.homeostasis import normalize_weights_l2
from neuro.models.diehl_cook_protocol import Presenter, set_reward
from neuro.models.teacher_stdp import TeacherConfig, reward_int


class TeacherPresenter(Presenter):
    """Diehl & Cook's presenter; while training, the teacher channel of the image's class fires
    every ``teacher_period_ms`` of the presentation, and the host sets the reward register
    from the schedule before every image."""

    def __init__(self, sim, cfg: TeacherConfig):
        super().__init__(sim, cfg)
        self.teacher0 = sim.net.source_offset("teacher")
        self.label: int | None = None

    def normalize(self) -> None:
        if not self.cfg.norm_l2:  # Diehl & Cook's: the weights sum to norm_target
            return super().normalize()
        target = self.cfg.norm_l2 * self.cfg.input_gain
        normalize_weights_l2(self.sim, self.plastic, target, self.positions, self.post)

    def before_image(self, label: int, done: int, total: int) -> None:
        self.label = int(label)
        set_reward(self.sim, reward_int(self.cfg, done, total))

    def extra_spikes(self, steps: int):
        if self.label is None or not self.sim.learning:
            return None
        st = np.arange(0, steps, self.cfg.teacher_period_steps, dtype=np.int64)
        return st, np.zeros_like(st), np.full_like(st, self.teacher0 + self.label)
