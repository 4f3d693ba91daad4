#!/usr/bin/env python3
"""PyTorch reference figures for sigmagrad's training and element-wise benchmarks.

A copy of the project's reference PyTorch benchmark script, extended for issue 14 with
--activation (the hidden layers' activation: relu, as before, tanh or silu) and
--elementwise (throughput of single ops at 64 and 1M elements, for
`cargo bench --bench overhead -- --torch FILE`). Without those flags it measures exactly what
the original does.

Runs one training step (forward, backward, Adam) of the networks that the two
studies use, on the CPU, and prints steps per second for each configuration,
one JSON object per line, so the numbers can sit next to sigmagrad's own in
one table.

  python3 -m venv venv-torch && venv-torch/bin/pip install torch numpy
  venv-torch/bin/python torch_reference.py --threads 2 [--quick] [--json out.jsonl]
      [--activation relu|tanh|silu]
  venv-torch/bin/python torch_reference.py --threads 2 --elementwise [--json out.jsonl]

Configurations (all with 15 inputs and a (mean, log variance) head of 2 outputs):
  mlp   deterministic MLP, ReLU, heteroscedastic Gaussian NLL
  bnn   variational layers with the local reparameterization trick,
        heteroscedastic NLL + KL / N_train
  re16  16-member ensemble as one batched computation with function-space
        RBF repulsion (median-heuristic bandwidth)

--elementwise: add, mul, exp, tanh, relu, sigmoid, softplus, log and a normal fill
(torch.randn), f32, on the inputs sigmagrad's overhead bench uses (standard normal; log on
uniform (0.1, 4)), each call allocating its output as sigmagrad's ops do; best and median of
7 repetitions, in Gelem/s.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn

N_TRAIN = 600_000

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU}
ACT_FNS = {"relu": torch.relu, "tanh": torch.tanh, "silu": nn.functional.silu}


class VBLinear(nn.Module):
    """Mean-field Gaussian linear layer, local reparameterization in training."""

    def __init__(self, n_in, n_out, prior_sigma=1.0):
        super().__init__()
        self.mu_w = nn.Parameter(torch.randn(n_out, n_in) / math.sqrt(n_in))
        self.logsig2_w = nn.Parameter(torch.full((n_out, n_in), -9.0))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.prior_prec = 1.0 / prior_sigma**2

    def forward(self, x):
        logsig2 = self.logsig2_w.clamp(-20, 11)
        mu = nn.functional.linear(x, self.mu_w, self.bias)
        var = nn.functional.linear(x * x, logsig2.exp()) + 1e-8
        return mu + var.sqrt() * torch.randn_like(mu)

    def kl(self):
        logsig2 = self.logsig2_w.clamp(-20, 11)
        return 0.5 * torch.sum(
            self.prior_prec * (self.mu_w**2 + logsig2.exp())
            - logsig2 - 1 - math.log(self.prior_prec))


def mlp(width, depth=3, layer=nn.Linear, activation="relu"):
    dims = [15] + [width] * depth
    mods = []
    for a, b in zip(dims[:-1], dims[1:]):
        mods += [layer(a, b), ACTIVATIONS[activation]()]
    mods.append(layer(width, 2))
    return nn.Sequential(*mods)


def het_nll(out, y):
    mu, logvar = out[..., 0], out[..., 1].clamp(-20, 11)
    return (0.5 * (y - mu) ** 2 * torch.exp(-logvar) + 0.5 * logvar).mean()


class Ensemble(nn.Module):
    """M members as batched matmuls: weights of shape (M, in, out)."""

    def __init__(self, members, width, depth=3, activation="relu"):
        super().__init__()
        self.act = ACT_FNS[activation]
        dims = [15] + [width] * depth + [2]
        self.w = nn.ParameterList(
            [nn.Parameter(torch.randn(members, a, b) / math.sqrt(a)) for a, b in zip(dims[:-1], dims[1:])])
        self.b = nn.ParameterList([nn.Parameter(torch.zeros(members, 1, b)) for b in dims[1:]])

    def forward(self, x):
        h = x.unsqueeze(0).expand(self.w[0].shape[0], -1, -1)
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            h = torch.baddbmm(b, h, w)
            if i < len(self.w) - 1:
                h = self.act(h)
        return h  # (M, batch, 2)


def repulsive_loss(out, y):
    # out: (M, B, 2). Likelihood per member plus function-space RBF repulsion.
    members = out.shape[0]
    nll = torch.stack([het_nll(out[m], y) for m in range(members)])
    f = out[..., 0]  # member predictions on the batch
    d2 = torch.cdist(f, f) ** 2
    h = d2.detach().median() / (2 * math.log(members + 1)) + 1e-12
    k = torch.exp(-d2 / h)
    ksum = k.sum(1)
    repulsion = (ksum / ksum.detach() - 1).sum() / N_TRAIN
    return nll.sum() + repulsion


def bench(kind, width, batch, seconds, activation="relu"):
    torch.manual_seed(0)
    x = torch.randn(batch, 15)
    y = torch.randn(batch)
    if kind == "mlp":
        model = mlp(width, activation=activation)
        loss_fn = lambda: het_nll(model(x), y)
    elif kind == "bnn":
        model = mlp(width, layer=VBLinear, activation=activation)
        loss_fn = lambda: het_nll(model(x), y) + sum(m.kl() for m in model if isinstance(m, VBLinear)) / N_TRAIN
    elif kind == "re16":
        model = Ensemble(16, width, activation=activation)
        loss_fn = lambda: repulsive_loss(model(x), y)
    else:
        raise ValueError(kind)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    rates = []
    for _ in range(5):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 5:
            step()
            n += 1
        rates.append(n / (time.perf_counter() - t0))
    rates.sort()
    return {"framework": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
            "model": kind, "activation": activation, "width": width, "batch": batch,
            "steps_per_s_median": round(rates[2], 1), "steps_per_s_best": round(rates[-1], 1)}


ELEMENTWISE = {
    "add": lambda a, b: torch.add(a, b),
    "mul": lambda a, b: torch.mul(a, b),
    "exp": lambda a, b: torch.exp(a),
    "tanh": lambda a, b: torch.tanh(a),
    "relu": lambda a, b: torch.relu(a),
    "sigmoid": lambda a, b: torch.sigmoid(a),
    "softplus": lambda a, b: nn.functional.softplus(a),
    "log": lambda a, b: torch.log(b),
    "normal": lambda a, b: torch.randn(a.shape[0]),
}


def elementwise(op, n, seconds):
    torch.manual_seed(0)
    a = torch.randn(n)
    b = torch.rand(n) * 3.9 + 0.1
    f = ELEMENTWISE[op]
    with torch.no_grad():
        calls, t0 = 0, time.perf_counter()
        while calls < 3 or time.perf_counter() - t0 < seconds / 10:
            f(a, b)
            calls += 1
        per_rep = max(1, int(calls / (time.perf_counter() - t0) * seconds / 7))
        rates = []
        for _ in range(7):
            t0 = time.perf_counter()
            for _ in range(per_rep):
                f(a, b)
            rates.append(n * per_rep / (time.perf_counter() - t0) / 1e9)
    rates.sort()
    return {"framework": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
            "op": op, "elements": n, "gelem_per_s_best": round(rates[-1], 4),
            "gelem_per_s_median": round(rates[3], 4)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0, help="measuring time per configuration")
    ap.add_argument("--quick", action="store_true", help="width 64, batch 1024 only")
    ap.add_argument("--json", help="also append the results to this file")
    ap.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu",
                    help="hidden-layer activation of the training networks")
    ap.add_argument("--elementwise", action="store_true",
                    help="time single element-wise ops at 64 and 1M elements instead of training steps")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = open(args.json, "a") if args.json else None
    if args.elementwise:
        for n in (64, 1 << 20):
            for op in ELEMENTWISE:
                line = json.dumps(elementwise(op, n, 0.7 * args.seconds / 2))
                print(line, flush=True)
                if out:
                    out.write(line + "\n")
        return
    configs = [(k, 64, 1024) for k in ("mlp", "bnn", "re16")]
    if not args.quick:
        configs = [(k, w, b) for k in ("mlp", "bnn", "re16") for w in (64, 128) for b in (256, 1024, 4096)]
    for kind, width, batch in configs:
        r = bench(kind, width, batch, args.seconds, args.activation)
        line = json.dumps(r)
        print(line, flush=True)
        if out:
            out.write(line + "\n")


if __name__ == "__main__":
    main()
