"""A tiny CPU-only training script: logistic regression on a synthetic two-class problem.

No download, no GPU, pure Python; a few seconds per run. It takes its hyperparameters as
ordinary argparse flags (gitexp passes the swept values as `--lr 0.1 --solver sgd ...`),
prints progress, and reports metrics through `gitexp.log`.
"""

import argparse
import math
import os
import random

import gitexp


def make_data(n, seed):
    rng = random.Random(seed)
    data = []
    for _ in range(n):
        label = rng.random() < 0.5
        center = (1.0, 1.0) if label else (-1.0, -0.5)
        x = (rng.gauss(center[0], 1.0), rng.gauss(center[1], 1.0))
        data.append((x, 1.0 if label else 0.0))
    return data


def accuracy(w, b, data):
    hits = sum(((w[0] * x[0] + w[1] * x[1] + b) > 0) == (y > 0.5) for x, y in data)
    return hits / len(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
    parser.add_argument("--solver", choices=["sgd", "momentum"], default="sgd", help="optimiser")
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training set")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--logdir", default=os.environ.get("LOGDIR", "."), help="where to write outputs")
    args = parser.parse_args()

    train, valid = make_data(2000, args.seed), make_data(500, args.seed + 1)
    w, b, velocity = [0.0, 0.0], 0.0, [0.0, 0.0, 0.0]
    rng = random.Random(args.seed)
    for epoch in range(args.epochs):
        rng.shuffle(train)
        total = 0.0
        for x, y in train:
            z = w[0] * x[0] + w[1] * x[1] + b
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            total += -(y * math.log(p + 1e-12) + (1 - y) * math.log(1 - p + 1e-12))
            grad = (p - y) * x[0], (p - y) * x[1], p - y
            if args.solver == "momentum":
                velocity = [0.9 * v + g for v, g in zip(velocity, grad)]
                grad = velocity
            w[0] -= args.lr * grad[0]
            w[1] -= args.lr * grad[1]
            b -= args.lr * grad[2]
        loss, acc = total / len(train), accuracy(w, b, valid)
        print(f"epoch {epoch + 1}/{args.epochs}  loss {loss:.4f}  val acc {acc:.4f}", flush=True)
        gitexp.log({"loss": loss, "acc": acc}, step=epoch + 1)

    with open(os.path.join(args.logdir, "model.txt"), "w") as handle:
        handle.write(f"w={w} b={b}\n")


if __name__ == "__main__":
    main()
