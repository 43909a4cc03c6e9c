"""Overfitting and underfitting on real MNIST, and the slide's remedies, on the same axes.

Also installed as `dlref-overfit`; `--help` lists the options (dlref/cli/overfit.py).
"""

import sys

from dlref.cli.overfit import main

if __name__ == "__main__":
    sys.exit(main())
