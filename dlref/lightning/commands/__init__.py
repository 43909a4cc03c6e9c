"""The evaluation commands beside ``dlref``: ``dlref-validate`` (hold-out, K-fold, iterated K-fold) and
``dlref-overfit`` (the overfitting, underfitting and regularisation curves). Each ``main`` returns an exit code."""
