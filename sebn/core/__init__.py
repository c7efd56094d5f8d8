"""The probabilistic core: specs, the network, the Pyro model, exact scoring, fitting, checks, search, records.
It knows no gym and no runner."""

FIT_METHODS = ("mle", "map", "svi", "laplace", "nuts")
"""How theta can be fit (:func:`sebn.core.fit.fit`): point estimates, then posteriors. A plain
tuple here, so the command line can offer them without importing torch."""
POINT_METHODS = ("mle", "map")
"""The methods of :data:`FIT_METHODS` that give a point, no posterior draws."""
