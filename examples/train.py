"""A tiny training script: what `git run` records in the demo.

It parses its parameters with argparse, prints metrics as lines like `epoch 3 loss=0.21 acc=0.91`
(gitrun reads them from the console), and writes a model file into an ignored folder.
"""

import argparse
import json
import math
import os
import random


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    random.seed(args.seed)
    loss = 1.0
    for epoch in range(1, args.epochs + 1):
        loss *= math.exp(-args.lr * (1 + random.random()))
        acc = 1 - loss / 2
        print(f"epoch {epoch} loss={loss:.4f} acc={acc:.4f}", flush=True)
    os.makedirs("models", exist_ok=True)
    with open("models/model.json", "w") as handle:
        json.dump({"lr": args.lr, "final_loss": loss}, handle)


if __name__ == "__main__":
    main()
