"""The requirement specs shipped with sebn, installed as ``sebn.specs``
(:func:`sebn.core.spec.shipped_spec` finds them)."""
