"""An argparse training script as most are written: typed flags, prints its results."""
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--hidden", type=int, default=16)
parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
parser.add_argument("--epochs", type=int, default=1)
args = parser.parse_args()

for epoch in range(args.epochs):
    score = args.lr * args.hidden * (epoch + 1) * (2 if args.optimizer == "adam" else 1)
    print(f"epoch {epoch} score {score:.6f}", flush=True)
print(f"FINAL lr={args.lr!r} hidden={args.hidden!r} optimizer={args.optimizer} epochs={args.epochs}")
