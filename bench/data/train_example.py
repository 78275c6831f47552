"""A small training script, as the generated runs' code."""
import argparse

import gitrun

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
args = parser.parse_args()
for step in range(1000):
    gitrun.log({"loss": 1 / (step + 1), "acc": step / 1000, "val_loss": 1.2 / (step + 1)}, step=step)
