"""A project as many are: data in a gitignored folder, read by relative path; the model saved
into the working directory; TensorBoard through SummaryWriter() with its default ./runs."""
import argparse

try:
    from torch.utils.tensorboard import SummaryWriter
except ImportError:  # no torch on this machine: the same writer, without torch
    from tbwriter import SummaryWriter

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()

words = open("data/train.txt").read().split()
writer = SummaryWriter()
for epoch in range(args.epochs):
    train, val = args.lr * len(words) / (epoch + 1), args.lr * 2 / (epoch + 1)
    writer.add_scalar("lr", args.lr, epoch)
    writer.add_scalars("loss", {"train": train, "val": val}, epoch)
writer.close()
with open("model.pt", "w") as handle:
    handle.write(f"weights after {args.epochs} epochs")
print("done", len(words), "words")
