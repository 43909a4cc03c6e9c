import pytest
import torch
from torch import nn
from torch.testing import assert_close

import dlref
from dlref import networks
from dlref.conv import ConvLayer
from dlref.data.batches import Batches
from dlref.dropout import Dropout
from dlref.loss import cross_entropy
from dlref.lstm import LSTMLayer
from dlref.pooling import Flatten, LastHidden, MaxPool, Rows

CORE = (dlref.Layer, dlref.Activation, ConvLayer, MaxPool, Flatten, Dropout, Rows, LSTMLayer, LastHidden)
BUILDERS = [networks.fcn, networks.cnn, networks.lstm]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_each_network_maps_mnist_images_to_ten_logits(build):
    torch.manual_seed(0)
    model = build()
    assert isinstance(model, dlref.Model)
    assert all(isinstance(layer, CORE) for layer in model.layers)  # core layers only
    assert model[-1].activate is dlref.identity  # logits: no activation before the loss
    assert model(torch.randn(5, 1, 28, 28)).shape == (5, 10)


def test_parameter_counts():
    def count(model):
        return sum(p.numel() for p in model.parameters())

    assert count(networks.fcn()) == 784 * 800 + 800 + 800 * 10 + 10
    conv = (1 * 9 + 1) * 16 + (16 * 9 + 1) * 32  # the default 16/32 channels
    assert count(networks.cnn()) == conv + 32 * 7 * 7 * 128 + 128 + 128 * 10 + 10
    assert count(networks.lstm()) == 4 * (28 * 128 + 128 * 128 + 128) + 128 * 10 + 10  # one b per gate
    assert count(networks.fcn(hidden=50, dropout=0)) == 784 * 50 + 50 + 50 * 10 + 10
    assert count(networks.cnn(channels=(4, 8), hidden=16)) == 40 + (4 * 9 + 1) * 8 + 8 * 49 * 16 + 16 + 170


def test_fcn_and_lstm_also_take_flat_rows_and_cnn_says_how_to_reshape():
    torch.manual_seed(0)
    images = torch.randn(3, 1, 28, 28)
    for build in (networks.fcn, networks.lstm):
        model = build().eval()
        assert_close(model(images.flatten(1)), model(images))
    with pytest.raises(ValueError, match=r"X.view\(-1, 1, height, width\)"):
        networks.cnn()(images.flatten(1))
    # One image without its batch axis would read as 28 one-row images (28 predictions): refused.
    with pytest.raises(ValueError, match=r"found \(28, 28\), which would read as 28 images of one row; for one image "
                                         r"add the batch axis with X.unsqueeze\(0\)"):
        networks.lstm().predict(images[0, 0])


def test_dropout_is_on_in_training_and_off_in_evaluation():
    torch.manual_seed(0)
    model, X = networks.fcn(dropout=0.5), torch.randn(4, 1, 28, 28)
    assert not torch.equal(model(X), model(X))
    model.eval()
    assert torch.equal(model(X), model(X))
    assert not any(isinstance(layer, Dropout) for layer in networks.cnn(dropout=0).layers)


@pytest.mark.parametrize("call, words", [
    (lambda: networks.fcn(hidden=0), r"fcn expected positive int sizes, found \{'hidden': 0\}; pass e\.g\."),
    (lambda: networks.fcn(hidden=True), r"fcn expected positive int sizes, found \{'hidden': True\}"),
    (lambda: networks.lstm(hidden=12.5), r"lstm expected positive int sizes, found \{'hidden': 12\.5\}"),
    (lambda: networks.cnn(image_size=3), r"cnn expected image_size >= 4 for two 2×2 poolings, found 3"),
    (lambda: networks.cnn(channels=16), r"cnn expected channels as a pair \(first, second\), found 16; pass e\.g\."),
    (lambda: networks.cnn(kernel_size=4), r"cnn expected an odd kernel_size, .* found 4; pass e\.g\. 3 or 5\."),
    # issue 12: fcn(dropout=-0.5) used to build a network without dropout, silently
    (lambda: networks.fcn(dropout=-0.5), r"fcn expected a dropout probability 0 <= dropout < 1, found "
                                         r"dropout=-0\.5; pass e\.g\. fcn\(dropout=0\.2\), or dropout=0 for none\."),
    (lambda: networks.fcn(dropout=1.0), r"fcn expected a dropout probability 0 <= dropout < 1, found dropout=1\.0"),
    (lambda: networks.cnn(dropout=float("nan")), r"cnn expected a dropout probability .* found dropout=nan"),
    (lambda: networks.cnn(dropout="0.2"), r"cnn expected a dropout probability .* found dropout='0\.2'"),
], ids=range(10))
def test_bad_sizes_and_probabilities_are_refused_with_one_sentence(call, words):
    with pytest.raises(ValueError, match=words) as error:
        call()
    assert str(error.value).count("; ") == 1 and str(error.value).endswith(".")


# Real MNIST: a 2000-image subset (the conftest fixture), a few epochs, accuracy on 1000 held-out test images.
TRAINING = [  # builder, lr, epochs, accuracy floor (measured: fcn 0.88-0.90, cnn 0.92-0.93, lstm 0.85)
    pytest.param(networks.fcn, 0.05, 5, 0.85, id="fcn"),
    pytest.param(networks.cnn, 0.05, 3, 0.85, id="cnn", marks=pytest.mark.slow),
    pytest.param(networks.lstm, 0.1, 8, 0.70, id="lstm", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("build,lr,epochs,floor", TRAINING)
def test_each_network_learns_mnist(build, lr, epochs, floor, mnist_subset):
    torch.manual_seed(0)
    model = build()
    train = Batches(mnist_subset.train_images, mnist_subset.train_labels, 64, shuffle=True, seed=0)
    test = Batches(mnist_subset.test_images, mnist_subset.test_labels, 500)
    before = dlref.evaluate(model, test, cross_entropy)
    history = dlref.train(model, train, cross_entropy, dlref.SGD(model.parameters(), lr=lr, momentum=0.9), epochs)
    after = dlref.evaluate(model, test, cross_entropy)
    assert history[-1] < 0.5 * history[0]
    assert after["loss"] < 0.5 * before["loss"]
    assert after["accuracy"] >= floor, f"{build.__name__}: held-out accuracy {after['accuracy']:.3f} < {floor}"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_each_network_gives_the_same_logits_and_gradients_on_cuda(build):
    torch.manual_seed(0)
    model = build().eval()
    X, t = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    cross_entropy(model(X), t).backward()
    cpu_grads = [p.grad.clone() for p in model.parameters()]
    Y_cpu = model(X)
    model.zero_grad()
    model.cuda()
    Y_cuda = model(X.cuda())
    assert Y_cuda.device.type == "cuda"
    assert_close(Y_cuda.cpu(), Y_cpu, rtol=1e-4, atol=1e-4)  # TF32 and other kernels: close, not equal
    cross_entropy(Y_cuda, t.cuda()).backward()
    assert_close([p.grad.cpu() for p in model.parameters()], cpu_grads, rtol=1e-3, atol=1e-4)
    model.cpu()
    assert_close(model(X), Y_cpu)


def test_relu_after_pooling_is_the_same_network_as_before_it():
    # max and ReLU commute, gradients included: the cnn's ReLU after MaxPool is the slide's conv+ReLU → pool.
    torch.manual_seed(0)
    X = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    X[0, 0, :2, :2] = -1.0  # a window that is all negative: ReLU's zero gradient either way
    pool = MaxPool(2)
    a, b = X.clone().requires_grad_(), X.clone().requires_grad_()
    before, after = pool(dlref.relu(a)), dlref.relu(pool(b))
    assert torch.equal(before, after)
    weights = torch.randn_like(before)
    (before * weights).sum().backward(), (after * weights).sum().backward()
    assert torch.equal(a.grad, b.grad)


def test_cnn_equals_its_torch_twin_in_nchw():
    # ConvLayer keeps channels-last memory; the numbers are those of nn.Conv2d → ReLU → MaxPool2d in NCHW.
    torch.manual_seed(0)
    model = networks.cnn(dropout=0).double().eval()
    conv1, conv2, fc1, fc2 = (layer for layer in model.layers if hasattr(layer, "W"))
    twin = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1568, 128), nn.ReLU(),
                         nn.Linear(128, 10)).double()
    with torch.no_grad():
        for ours, theirs in zip((conv1, conv2, fc1, fc2), (twin[0], twin[3], twin[7], twin[9])):
            theirs.weight.copy_(ours.W), theirs.bias.copy_(ours.B)
    X = torch.randn(6, 1, 28, 28, dtype=torch.float64)
    torch.testing.assert_close(model(X), twin(X), rtol=1e-12, atol=1e-12)
    assert conv1.W.is_contiguous(memory_format=torch.channels_last)


def test_a_network_size_it_does_not_take_is_one_sentence_listing_those_it_takes():
    from dlref.lightning.module import Classifier

    with pytest.raises(ValueError, match=r"^Classifier expected network_kwargs that fcn takes \(in_features, hidden, "
                                         r"classes, dropout\), found 'hiden'; fix the key, e\.g\. "
                                         r"--model\.network_kwargs='\{\"hidden\": …\}'\.$"):
        Classifier(network_kwargs={"hiden": 8})
    with pytest.raises(ValueError, match=r"network expected a network in \('fcn', 'cnn', 'lstm'\), found 'rnn'"):
        dlref.networks.build("rnn")
    assert dlref.networks.build("lstm", {"hidden": 8})[1].hidden_size == 8
