"""A runx project: logx for metrics.csv (what runx's sumx reads), per-iteration train scalars."""
import argparse

from gitexp.logx import logx

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--logdir", default=".")
args = parser.parse_args()
logx.initialize(logdir=args.logdir, hparams=vars(args), tensorboard=False)
step = 0
for epoch in range(args.epochs):
    for _ in range(25):
        logx.add_scalar("train/loss", args.lr / (step + 1), step)
        step += 1
    logx.metric("val", {"acc": args.lr * (epoch + 1)}, epoch=epoch + 1)
