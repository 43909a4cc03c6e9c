"""Figures — the pictures a learner looks at after training, as PNG files, drawn with matplotlib's object API on
the Agg canvas, never pyplot: no window, no global state, safe in tests and on servers.

- ``learning_curves``: loss and accuracy per epoch, training and validation (the "Overfitting" slide).
- ``fitting_curves`` / ``compare_curves``: several runs side by side or on the same axes (overfitting vs
  underfitting; the remedies: more data, weight decay, dropout, early stopping).
- ``fold_scores``: the "Evaluation" slide's K-fold, one score per fold and their mean ± standard deviation.
- ``confusion_matrix`` and ``misclassified``: which test digits the model gets wrong.
- ``predicted_digits``: the deck's Figure 1.5, each input beside its ten probabilities (what ``dlref predict`` draws).
- ``representations``: the deck's Figure 1.6, what each layer makes of one digit (``layer_outputs`` computes it).

A history is a dict of per-epoch lists keyed like the Lightning logs (any may be missing): ``train/loss``,
``val/loss``, ``train/acc``, ``val/acc``.
"""

from .curves import compare_curves, fitting_curves, fold_scores, learning_curves
from .digits import confusion_matrix, layer_outputs, misclassified, predicted_digits, representations

__all__ = ["compare_curves", "confusion_matrix", "fitting_curves", "fold_scores", "layer_outputs", "learning_curves",
           "misclassified", "predicted_digits", "representations"]
