"""The guards of the slides: every check a learner's mistake needs, so that the slide files read like the slides.

A slide file calls one of these in one line where a value comes in (``checks.layer_input(self, X)``), and a
mistake is one sentence that says what was expected, what was found and what to do, not a torch traceback.
They are grouped by slide, one module per part of the deck:

    layers.py      Parameterization, Layers, Models: the tensor a layer is given, sizes, activate, model.add
    loss.py        Loss function: y and t; the loss/output trap (softmax into cross_entropy) in one place
    optimizer.py   Optimizer, Back propagation: SGD's options, update's sentences
    training.py    Training, Evaluation: train's and evaluate's arguments and batches, split's
    conv.py        CNN: ConvLayer, MaxPool, Flatten, Rows
    networks.py    Overfitting (dropout), RNN (LSTMLayer), and the FCN/CNN/LSTM builders

Only torch is imported; a check that needs a slide's own function (``softmax``, ``cross_entropy``, ``Model``)
imports it where it runs, since the slide files import this package.
"""

from .conv import conv_input, conv_layer, conv_twin, flatten_input, max_pool, pool_input, rows_input, rows_width
from .layers import activation, as_model, features, float_input, layer, layer_input, model_add, model_input
from .loss import CheckedOnce, last_module, logits, loss_inputs, output, output_activation, probabilities
from .networks import build, cnn, dropout, gate, lstm_input, lstm_layer, lstm_twin, network_dropout, network_sizes
from .optimizer import backward, held, rule_alone, sgd_arguments, sgd_group, update_error, weights
from .training import batches, device_of, epoch, evaluated, scores, split_arguments, train_arguments

__all__ = [
    "CheckedOnce", "activation", "as_model", "backward", "batches", "build", "cnn", "conv_input", "conv_layer",
    "conv_twin", "device_of", "dropout", "epoch", "evaluated", "features", "flatten_input", "float_input", "gate",
    "held", "last_module", "layer", "layer_input", "logits", "loss_inputs", "lstm_input",
    "lstm_layer", "lstm_twin", "max_pool", "model_add", "model_input", "network_dropout", "network_sizes", "output",
    "output_activation", "pool_input", "probabilities", "rows_input", "rows_width", "rule_alone", "scores",
    "sgd_arguments", "sgd_group", "split_arguments", "train_arguments", "update_error", "weights",
]
