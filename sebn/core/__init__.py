"""The probabilistic core: specs, the network, the Pyro model, exact scoring, fitting, checks, search, "
"records. It knows no gym and no runner."""
