"""Training recipes: the one place for each network's default hyper-parameters.

Chosen by measurement on a 2-core CPU (README, "Figures"). The plain slide loop
(``scripts/train_scratch.py``) and the Lightning configs both start from here.
"""

RECIPES = {
    # 784-800-10, SGD with momentum: about 1-2 s per epoch on 2 cores.
    "fcn": dict(epochs=12, batch_size=128, lr=0.05, momentum=0.9, weight_decay=0.0, schedule="none"),
    "cnn": dict(epochs=6, batch_size=128, lr=0.05, momentum=0.9, weight_decay=0.0, schedule="cosine"),
    "lstm": dict(epochs=10, batch_size=128, lr=0.1, momentum=0.9, weight_decay=0.0, schedule="none"),
}

VAL_SIZE = 5000  # MNIST's 60,000 training images → 55,000 train / 5,000 validation
SEED = 0
