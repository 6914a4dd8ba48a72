"""D-Adapt Adam on the digits MLP of `efficacy.py step_size_free`, in kerasboost and in the
reference `dadaptation` package, from the same initial weights on the same batches (no
shuffling), to tell the method's behaviour from the port's.

    python benchmarks/dadapt_reference.py 0     # the seed: data split and initial weights
"""

import math
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import dadaptation
import keras
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from efficacy import digits_mlp
from harness import load_digits_split

from kerasboost.optimizers import DAdaptAdam

torch.set_num_threads(1)
seed = int(sys.argv[1])
epochs = 40
batch = 32
x, y, xv, yv = load_digits_split(seed)
total = epochs * math.ceil(len(x) / batch)
model = digits_mlp(x.shape[1], seed)
w0 = [v.numpy() for v in model.weights]
model.compile(
    DAdaptAdam(keras.optimizers.schedules.CosineDecay(1.0, total)),
    keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
    jit_compile=True,
)
h = model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0, validation_data=(xv, yv))
print("keras  final val acc", h.history["val_accuracy"][-1])
# torch: same weights, same batches
layers = []
for i in range(0, len(w0), 2):
    lin = torch.nn.Linear(*w0[i].shape)
    lin.weight.data = torch.tensor(w0[i].T.copy())
    lin.bias.data = torch.tensor(w0[i + 1].copy())
    layers += [lin, torch.nn.ReLU()]
net = torch.nn.Sequential(*layers[:-1])
opt = dadaptation.DAdaptAdam(net.parameters(), lr=1.0)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
xt, yt = torch.tensor(x), torch.tensor(y)
for _epoch in range(epochs):
    for b in range(0, len(x), batch):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt[b : b + batch]), yt[b : b + batch]).backward()
        opt.step()
        sched.step()
acc = (net(torch.tensor(xv)).argmax(1).numpy() == yv).mean()
print("torch  final val acc", acc, "d", opt.param_groups[0]["d"])
