"""The built-in registered filters (see `dshow_alloc.registry` for the names).

``basic`` (tee, queue, nullsink) and ``y4m``/``wav`` need nothing more than the core; the test
sources and effects need numpy (the ``media`` extra) and ``avsrc``/``avsink`` PyAV (``av``).
"""
