"""Estimate how well a model generalises: hold-out, K-fold or iterated K-fold on MNIST's training set.

Also installed as `dlref-validate`; `--help` lists the options (dlref/lightning/commands/validate.py).
"""

import sys

from dlref.lightning.commands.validate import main

if __name__ == "__main__":
    sys.exit(main())
