"""The guards of the slides: every check a learner's mistake needs, out of the way of the slide files.

A slide file calls one in one line where a value comes in (``checks.layer_input(self, X)``), and a mistake is one
sentence that says what was expected, what was found and what to do, not a torch traceback. One module per part of
the deck: ``layers`` (Layers, Models), ``loss``, ``optimizer`` (Optimizer, Back propagation), ``training``
(Training, Evaluation), ``conv`` (CNN: ConvLayer, MaxPool, Flatten, Rows) and ``networks`` (dropout, LSTMLayer, the
builders). Only torch is imported; a check that needs a slide's own function (``softmax``, ``Model``) imports it
where it runs, since the slide files import this package.
"""

from .conv import conv_input, conv_layer, conv_twin, flatten_input, max_pool, pool_input, rows_input, rows_width
from .layers import activation, as_model, float_input, layer, layer_input, model_add, model_input
from .loss import CheckedOnce, last_module, logits, loss_inputs, output, output_activation, probabilities
from .networks import build, cnn, dropout, gate, lstm_input, lstm_layer, lstm_twin, network_dropout, network_sizes
from .optimizer import backward, held, rule_alone, sgd_arguments, sgd_group, update_error, weights
from .training import batches, device_of, epoch, evaluated, scores, split_arguments, train_arguments

__all__ = [
    "CheckedOnce", "activation", "as_model", "backward", "batches", "build", "cnn", "conv_input", "conv_layer",
    "conv_twin", "device_of", "dropout", "epoch", "evaluated", "flatten_input", "float_input", "gate", "held",
    "last_module", "layer", "layer_input", "logits", "loss_inputs", "lstm_input", "lstm_layer", "lstm_twin", "max_pool",
    "model_add", "model_input", "network_dropout", "network_sizes", "output", "output_activation", "pool_input",
    "probabilities", "rows_input", "rows_width", "rule_alone", "scores", "sgd_arguments", "sgd_group",
    "split_arguments", "train_arguments", "update_error", "weights",
]
