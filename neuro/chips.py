"""Chip profiles: per-core limits as named constants (tags: [P] primary source, [code] a tool's
code, [S] secondary, [A] our assumption; see ``../shared/reference/chips-loihi-truenorth.md``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from neuro.errors import NeuroError

# Loihi 1, per core (nengo-loihi block.py L8-11 [code])
LOIHI_COMPARTMENTS_PER_CORE = 1024
LOIHI_INPUT_AXONS_PER_CORE = 4096
LOIHI_OUTPUT_AXONS_PER_CORE = 4096
LOIHI_SYNAPSE_MEMORY_BITS = 16384 * 64  # 1 Mbit = 128 KiB [code]
LOIHI_CORES_PER_CHIP = 128  # Davies 2018 [S]
LOIHI_MESH = (8, 16)  # cores per chip as columns x rows of the 2-D mesh [A]
LOIHI_MAX_DELAY_STEPS = 62  # brian2_loihi delay range [code]
SYNAPSE_GROUP_HEADER_BITS = 10  # per group of <= 64 synapses (nengo-loihi) [code]
SYNAPSE_GROUP_SIZE = 64

# Loihi 1 compartment registers, inclusive ranges (../shared/reference/loihi-semantics.md, section 0)
LOIHI_REGISTER_RANGES = {
    "decay_u": (0, 4095),
    "decay_u_inh": (0, 4095),
    "decay_v": (0, 4095),
    "vth_mant": (1, 2**17 - 1),
    "bias_mant": (-4095, 4095),
    "bias_exp": (0, 7),
    "refract_delay": (1, 63),
    "vmin_exp": (0, 23),
    "vmax_exp": (0, 7),
}
LOIHI_V_RANGE = (-(2**23), 2**23 - 1)  # 24-bit signed membrane register
LOIHI_WEIGHT_EXP_RANGE = (-6, 7)  # synapse weight exponent
LOIHI_RAW_WEIGHT_MAX = 255  # |Wgt| of an 8-bit (+sign) synapse weight

# Loihi 2, per chip and core (docs/loihi2.md lists every source). Chip-level figures from Intel's
# Loihi 2 brief as quoted by open-neuromorphic.org [S]; per-core figures derived from them [S, derived]
# or assumed equal to Loihi 1's where no public figure was found [A].
LOIHI2_CORES_PER_CHIP = 128  # neuron cores per chip (Loihi 2 brief) [S]
LOIHI2_NEURONS_PER_CHIP = 2**20  # "up to 1 M neurons" (Loihi 2 brief) [S]
LOIHI2_SYNAPSES_PER_CHIP = 120_000_000  # "120 M synapses" (Loihi 2 brief) [S]
LOIHI2_COMPARTMENTS_PER_CORE = LOIHI2_NEURONS_PER_CHIP // LOIHI2_CORES_PER_CHIP  # 8192 [S, derived]
# synapse memory per core: not published. Estimate: 120 M synapses / 128 cores at 16 bits each
# (8 weight bits + 8 bits of index and delay, as this mapper counts them) [A]
LOIHI2_SYNAPSE_MEMORY_BITS = LOIHI2_SYNAPSES_PER_CHIP // LOIHI2_CORES_PER_CHIP * 16
LOIHI2_INPUT_AXONS_PER_CORE = LOIHI_INPUT_AXONS_PER_CORE  # fan-in per core: not published; Loihi 1's [A]
LOIHI2_OUTPUT_AXONS_PER_CORE = LOIHI_OUTPUT_AXONS_PER_CORE  # fan-out per core: not published; Loihi 1's [A]
LOIHI2_MESH = LOIHI_MESH  # 128 cores as 8 x 16 [A]
LOIHI2_MAX_DELAY_STEPS = LOIHI_MAX_DELAY_STEPS  # synaptic delay field: not published; Loihi 1's [A]
# graded-spike payload bits: Lava's graded networks use 24 (networks/gradedvecnetwork.py:86) [code]
LOIHI2_MAX_MESSAGE_BITS = 24
# Lava 0.10 PyLifModelBitAcc register ranges (proc/lif/models.py:252-258, docstring) [code]
LOIHI2_REGISTER_RANGES = {
    "decay_u": (0, 4095),
    "decay_v": (0, 4095),
    "vth_mant": (1, 2**17 - 1),
    "bias_mant": (-4096, 4095),
    "bias_exp": (0, 7),
}
LOIHI2_V_LIMIT = 2**23 - 1  # v clips to [-(2**23 - 1), 2**23 - 1] (models.py:172-177) [code]
LOIHI2_U_FOLD = 2**23  # u folds once into (-2**23, 2**23] (models.py:157-171) [code]
LOIHI2_WEIGHT_BITS = 8  # Dense weights: clip to 8 bits by sign mode (weightutils.py:250-295) [code]
# v the chip reports at a spike step (NIR paper's Loihi 2 trace; lava-nc/lava#282) [P]
LOIHI2_SPIKE_STEP_V_READING = 128

# TrueNorth (rules in neuro/truenorth/mapping.py; sources in docs/truenorth.md)
TRUENORTH_NEURONS_PER_CORE = 256  # CAS Magazine p.20 [S]
TRUENORTH_AXONS_PER_CORE = 256  # [S]
TRUENORTH_CROSSBAR_BITS = 256 * 256  # binary crossbar, one bit per (axon, neuron) [S]
TRUENORTH_CORES_PER_CHIP = 4096  # Merolla 2014 abstract [P]
TRUENORTH_MESH = (64, 64)  # CAS Magazine [S]
TRUENORTH_MAX_DELAY_STEPS = 14  # delivery 1..15 ticks after the spike = 1 + delay steps [S]
TRUENORTH_DELAY_TICKS = (1, 1 + TRUENORTH_MAX_DELAY_STEPS)  # axonal delay in ticks [S]

# TrueNorth neuron parameters, inclusive ranges (Cassidy et al. 2013; docs/truenorth.md)
TRUENORTH_AXON_TYPES = 4
TRUENORTH_WEIGHT_RANGE = (-256, 255)  # 9-bit signed synaptic weight s_j^G [S]
TRUENORTH_LEAK_RANGE = (-256, 255)  # 9-bit signed leak lambda_j [A: same width as the weights]
TRUENORTH_THRESHOLD_RANGE = (0, 2**18 - 1)  # alpha_j, 18-bit unsigned [A]
TRUENORTH_NEG_THRESHOLD_RANGE = (0, 2**18 - 1)  # beta_j, 18-bit unsigned [A]
TRUENORTH_MASK_RANGE = (0, 2**18 - 1)  # threshold PRN mask M_j [A]
TRUENORTH_RESET_RANGE = (-(2**18 - 1), 2**18 - 1)  # reset value R_j [A]
TRUENORTH_V_RANGE = (-(2**19), 2**19 - 1)  # membrane potential register, 20-bit signed, saturating [A]


@dataclass(frozen=True)
class ChipProfile:
    """Per-core resource limits of a chip and the layout of its core mesh.

    A limit of ``None`` means unbounded. Cores of chip ``c`` sit at mesh coordinates
    ``(c * mesh_cols + col, row)``: chips are tiled side by side along x.
    """

    name: str
    compartments_per_core: int | None
    input_axons_per_core: int | None
    output_axons_per_core: int | None
    synapse_memory_bits_per_core: int | None
    cores_per_chip: int | None
    mesh_cols: int
    mesh_rows: int
    max_delay_steps: int | None = None

    def limits(self) -> dict:
        return {
            "compartments": self.compartments_per_core,
            "input_axons": self.input_axons_per_core,
            "output_axons": self.output_axons_per_core,
            "synapse_memory_bits": self.synapse_memory_bits_per_core,
        }

    def core_xy(self, core: int) -> tuple[int, int, int]:
        """(chip, x, y) of global core index ``core``."""
        if self.cores_per_chip is None:
            return 0, core, 0
        chip, local = divmod(core, self.cores_per_chip)
        return chip, chip * self.mesh_cols + local % self.mesh_cols, local // self.mesh_cols

    def with_limits(self, **changes) -> ChipProfile:
        return replace(self, **changes)


LOIHI = ChipProfile(
    "loihi",
    compartments_per_core=LOIHI_COMPARTMENTS_PER_CORE,
    input_axons_per_core=LOIHI_INPUT_AXONS_PER_CORE,
    output_axons_per_core=LOIHI_OUTPUT_AXONS_PER_CORE,
    synapse_memory_bits_per_core=LOIHI_SYNAPSE_MEMORY_BITS,
    cores_per_chip=LOIHI_CORES_PER_CHIP,
    mesh_cols=LOIHI_MESH[0],
    mesh_rows=LOIHI_MESH[1],
    max_delay_steps=LOIHI_MAX_DELAY_STEPS,
)

TRUENORTH = ChipProfile(
    "truenorth",
    compartments_per_core=TRUENORTH_NEURONS_PER_CORE,
    input_axons_per_core=TRUENORTH_AXONS_PER_CORE,
    output_axons_per_core=TRUENORTH_NEURONS_PER_CORE,  # each neuron drives exactly one axon
    synapse_memory_bits_per_core=TRUENORTH_CROSSBAR_BITS,
    cores_per_chip=TRUENORTH_CORES_PER_CHIP,
    mesh_cols=TRUENORTH_MESH[0],
    mesh_rows=TRUENORTH_MESH[1],
    max_delay_steps=TRUENORTH_MAX_DELAY_STEPS,
)

LOIHI2 = ChipProfile(
    "loihi2",
    compartments_per_core=LOIHI2_COMPARTMENTS_PER_CORE,
    input_axons_per_core=LOIHI2_INPUT_AXONS_PER_CORE,
    output_axons_per_core=LOIHI2_OUTPUT_AXONS_PER_CORE,
    synapse_memory_bits_per_core=LOIHI2_SYNAPSE_MEMORY_BITS,
    cores_per_chip=LOIHI2_CORES_PER_CHIP,
    mesh_cols=LOIHI2_MESH[0],
    mesh_rows=LOIHI2_MESH[1],
    max_delay_steps=LOIHI2_MAX_DELAY_STEPS,
)

UNBOUNDED = ChipProfile("unbounded", None, None, None, None, None, mesh_cols=1, mesh_rows=1)

PROFILES = {p.name: p for p in (LOIHI, LOIHI2, TRUENORTH, UNBOUNDED)}


def get_profile(name: str) -> ChipProfile:
    """Look a chip profile up by name."""
    try:
        return PROFILES[name]
    except KeyError:
        raise NeuroError(
            f"unknown chip profile {name!r} (known: {', '.join(PROFILES)})", field="chip"
        ) from None
