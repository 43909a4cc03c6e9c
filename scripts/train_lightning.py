"""The Lightning path: ``dlref fit`` (then one test of the best checkpoint) for a config.

    python scripts/train_lightning.py --config configs/fcn.yaml
    python scripts/train_lightning.py fit --config configs/cnn.yaml --trainer.max_epochs=1

Without a subcommand it runs ``fit``; every ``dlref`` option works (``--help`` lists them).
"""

import sys

from dlref.cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["fit", *argv]
    sys.exit(main(argv))
