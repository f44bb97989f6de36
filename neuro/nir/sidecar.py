"""The population fields NIR's neuron nodes cannot hold, which neuro's exporter keeps in each
node's ``metadata["neuro"]`` (JSON) and its importer reads back; other NIR readers ignore them."""

SIDECAR_FIELDS = (
    "refractory",
    "tau_syn_inh",
    "theta_plus",
    "tau_theta",
    "theta_init",
    "v_init",
    "i_init",
    "input_bias",
    "bias",  # only for a population without a leak (NIR's IF and I have no bias)
    "vth_mant",  # the Loihi register scale (docs/spec.md)
)
