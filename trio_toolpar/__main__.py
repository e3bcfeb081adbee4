"""``python -m trio_toolpar``: the same command line as ``trio-toolpar``."""

from ._cli._main import main

if __name__ == "__main__":
    raise SystemExit(main())
