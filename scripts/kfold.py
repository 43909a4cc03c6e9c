"""Estimate how well a model generalises: hold-out, K-fold or iterated K-fold on MNIST's training set.

Also installed as `dlref-kfold`; `--help` lists the options (dlref/cli/kfold.py).
"""

import sys

from dlref.cli.kfold import main

if __name__ == "__main__":
    sys.exit(main())
