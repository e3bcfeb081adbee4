"""The ``trio-toolpar`` command line and its demo."""
