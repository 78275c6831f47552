# ruff: noqa: E501  (real tools print long lines; the corpus keeps them as printed)
"""Console output of real training tools, and the metrics (and console facts) each must yield.

Each sample is an excerpt of what a tool prints (setup lines included), written as the tool
writes it. ``metrics`` is the exact set of series, each ``[(step, value), ...]`` as stored (a
point without a step gets its index); ``facts`` the numbers printed once that must stay out of
the metrics; ``not_metrics`` names that must never be a metric (the setup numbers, progress-bar
internals), checked on top of the exact comparison so a change that adds them fails loudly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

NAN = math.nan
INF = math.inf


@dataclass
class Sample:
    tool: str
    text: str
    metrics: dict[str, list[tuple[int, float]]]
    facts: dict[str, float] = field(default_factory=dict)
    not_metrics: tuple[str, ...] = ()


CORPUS: list[Sample] = [
    Sample("nanoGPT train.py", """\
tokens per iteration will be: 8,192
found vocab_size = 65 (inside data/shakespeare_char/meta.pkl)
Initializing a new model from scratch
number of parameters: 10.65M
num decayed parameter tensors: 26, with 10,740,096 parameters
num non-decayed parameter tensors: 13, with 4,992 parameters
using fused AdamW: False
step 0: train loss 4.2874, val loss 4.2823
iter 0: loss 4.2649, time 3497.41ms, mfu -100.00%
iter 10: loss 3.2438, time 31.20ms, mfu 4.10%
iter 20: loss 2.7905, time 31.57ms, mfu 4.09%
step 250: train loss 1.9638, val loss 2.0660
saving checkpoint to out-shakespeare-char
iter 250: loss 2.0434, time 3343.18ms, mfu 3.78%
""", {
        "train/loss": [(0, 4.2874), (250, 1.9638)],
        "val/loss": [(0, 4.2823), (250, 2.066)],
        "loss": [(0, 4.2649), (10, 3.2438), (20, 2.7905), (250, 2.0434)],
        "time_ms": [(0, 3497.41), (10, 31.2), (20, 31.57), (250, 3343.18)],
        "mfu": [(0, -100.0), (10, 4.1), (20, 4.09), (250, 3.78)],
    }, {"per_iteration_will_be": 8192, "found_vocab_size": 65, "num_decayed_parameter_tensors": 26,
        "parameter_tensors": 13},
        ("vocab_size", "number_of_parameters", "parameters")),
    Sample("nanoGPT makemore-style setup + steps", """\
number of parameters: 729
vocab size: 27
dataset: 32033 examples
step 0 | loss 3.2958 | lr 0.01
step 100 | loss 2.7311 | lr 0.01
step 200 | loss 2.5190 | lr 0.005
""", {"loss": [(0, 3.2958), (100, 2.7311), (200, 2.519)], "lr": [(0, 0.01), (100, 0.01), (200, 0.005)]},
        {"number_of_parameters": 729, "vocab_size": 27, "dataset": 32033}),
    Sample("llm.c train_gpt2", """\
[GPT-2]
max_seq_len: 1024
vocab_size: 50257
num_layers: 12
num_parameters: 124475904
train dataset num_batches: 1192
val dataset num_batches: 128
step 0: train loss 5.356189 (took 1452.121000 ms)
step 1: train loss 4.301393 (took 1288.073000 ms)
val loss 4.231584
step 2: train loss 4.623316 (took 1285.862000 ms)
""", {"train/loss": [(0, 5.356189), (1, 4.301393), (2, 4.623316)], "val/loss": [(1, 4.231584)],
      "took_ms": [(0, 1452.121), (1, 1288.073), (2, 1285.862)]},
        {"max_seq_len": 1024, "vocab_size": 50257, "num_layers": 12, "num_parameters": 124475904,
         "train/dataset_num_batches": 1192, "val/dataset_num_batches": 128}),
    Sample("llm.c train_gpt2cu", """\
| device                | NVIDIA A100-SXM4-80GB                              |
| max_sequence_length T | 1024                                               |
step    1/74 | train loss 11.010408 | norm 15.4313 | lr 3.00e-06 | 1046.32 ms | 18.3% bf16 MFU | 500931 tok/s
step    2/74 | train loss 10.917250 | norm 15.0172 | lr 6.00e-06 | 123.89 ms | 154.6% bf16 MFU | 4231871 tok/s
""", {"train/loss": [(1, 11.010408), (2, 10.91725)], "norm": [(1, 15.4313), (2, 15.0172)],
      "lr": [(1, 3e-06), (2, 6e-06)]}, {}, ("max_sequence_length_T", "T")),
    Sample("Keras 2 fit, verbose=1", """\
Model: "sequential"
Total params: 101,770
Trainable params: 101,770
Epoch 1/3
1875/1875 [==============================] - 4s 2ms/step - loss: 0.2941 - accuracy: 0.9147 - val_loss: 0.1494 - val_accuracy: 0.9560
Epoch 2/3
1875/1875 [==============================] - 3s 2ms/step - loss: 0.1421 - accuracy: 0.9578 - val_loss: 0.1079 - val_accuracy: 0.9671
Epoch 3/3
 512/1875 [=======>......................] - ETA: 2s - loss: 0.1011 - accuracy: 0.9702
1875/1875 [==============================] - 3s 2ms/step - loss: 0.1070 - accuracy: 0.9677 - val_loss: 0.0942 - val_accuracy: 0.9708
313/313 [==============================] - 0s 1ms/step - loss: 0.0942 - accuracy: 0.9708
""", {"loss": [(1, 0.2941), (2, 0.1421), (3, 0.1011), (3, 0.107), (3, 0.0942)],
      "accuracy": [(1, 0.9147), (2, 0.9578), (3, 0.9702), (3, 0.9677), (3, 0.9708)],
      "val_loss": [(1, 0.1494), (2, 0.1079), (3, 0.0942)],
      "val_accuracy": [(1, 0.956), (2, 0.9671), (3, 0.9708)]},
        {"Total_params": 101770, "Trainable_params": 101770}, ("ETA_s", "ETA")),
    Sample("Keras 3 fit", """\
Epoch 1/2
\x1b[1m1875/1875\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m3s\x1b[0m 1ms/step - accuracy: 0.8775 - loss: 0.4312 - val_accuracy: 0.9601 - val_loss: 0.1352
Epoch 2/2
\x1b[1m1875/1875\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m2s\x1b[0m 1ms/step - accuracy: 0.9634 - loss: 0.1250 - val_accuracy: 0.9690 - val_loss: 0.1005
""", {"accuracy": [(1, 0.8775), (2, 0.9634)], "loss": [(1, 0.4312), (2, 0.125)],
      "val_accuracy": [(1, 0.9601), (2, 0.969)], "val_loss": [(1, 0.1352), (2, 0.1005)]}),
    Sample("Keras fit, verbose=2", """\
Epoch 1/2
1875/1875 - 3s - loss: 0.2950 - accuracy: 0.9145 - 3s/epoch - 2ms/step
Epoch 2/2
1875/1875 - 2s - loss: 0.1419 - accuracy: 0.9580 - 2s/epoch - 1ms/step
""", {"loss": [(1, 0.295), (2, 0.1419)], "accuracy": [(1, 0.9145), (2, 0.958)]}),
    Sample("Hugging Face Trainer (dict lines)", """\
***** Running training *****
  Num examples = 25,000
  Num Epochs = 3
  Instantaneous batch size per device = 8
  Total optimization steps = 9,375
  Number of trainable parameters = 66,955,010
{'loss': 0.4123, 'grad_norm': 3.2104, 'learning_rate': 4.7e-05, 'epoch': 0.16}
{'loss': 0.3012, 'grad_norm': 2.9012, 'learning_rate': 4.4e-05, 'epoch': 0.32}
{'eval_loss': 0.2501, 'eval_accuracy': 0.9132, 'eval_runtime': 12.34, 'eval_samples_per_second': 203.1, 'epoch': 1.0}
{'loss': 0.2011, 'grad_norm': 2.1, 'learning_rate': 4.1e-05, 'epoch': 1.12}
{'train_runtime': 612.3, 'train_samples_per_second': 122.5, 'train_loss': 0.3012, 'epoch': 3.0}
""", {"loss": [(0, 0.4123), (1, 0.3012), (2, 0.2011)], "grad_norm": [(0, 3.2104), (1, 2.9012), (2, 2.1)],
      "learning_rate": [(0, 4.7e-05), (1, 4.4e-05), (2, 4.1e-05)], "epoch": [(0, 0.16), (1, 0.32), (2, 1.12)],
      "eval_loss": [(1, 0.2501)], "eval_accuracy": [(1, 0.9132)], "eval_runtime": [(1, 12.34)],
      "eval_samples_per_second": [(1, 203.1)], "train_runtime": [(3, 612.3)],
      "train_samples_per_second": [(3, 122.5)], "train_loss": [(3, 0.3012)]},
        {"Num_examples": 25000, "Num_Epochs": 3, "batch_size_per_device": 8, "Total_optimization_steps": 9375,
         "Number_of_trainable_parameters": 66955010}),
    Sample("Hugging Face Trainer log_metrics", """\
***** eval metrics *****
  epoch                   =        3.0
  eval_accuracy           =     0.9132
  eval_loss               =     0.2876
  eval_runtime            = 0:00:12.34
  eval_samples_per_second =    203.112
""", {"eval_accuracy": [(3, 0.9132)], "eval_loss": [(3, 0.2876)], "eval_samples_per_second": [(3, 203.112)]},
        {}, ("eval_runtime",)),
    Sample("Hugging Face progress bar", """\
  3%|▎         | 300/9375 [00:42<21:03,  7.18it/s]
 50%|█████     | 4688/9375 [10:42<10:41,  7.31it/s]
""", {}),
    Sample("PyTorch Lightning progress bar", """\
GPU available: False, used: False
TPU available: False, using: 0 TPU cores
  | Name  | Type       | Params
-------------------------------------
0 | model | Sequential | 101 K
-------------------------------------
101 K     Trainable params
0         Non-trainable params
0.407     Total estimated model params size (MB)
Epoch 0:  45%|████▌     | 423/938 [00:05<00:06, 80.31it/s, v_num=3, train_loss=0.421]
Epoch 0: 100%|██████████| 938/938 [00:12<00:00, 75.12it/s, v_num=3, train_loss=0.312]
Epoch 1: 100%|██████████| 938/938 [00:12<00:00, 76.01it/s, v_num=3, train_loss=0.201, val_loss=0.190, val_acc=0.943]
""", {"train_loss": [(0, 0.421), (0, 0.312), (1, 0.201)], "val_loss": [(1, 0.19)], "val_acc": [(1, 0.943)]},
        {"using": 0}, ("v_num",)),
    Sample("Lightning LearningRateMonitor in the bar", """\
Epoch 2: 100%|██████████| 100/100 [00:01<00:00, 90.1it/s, v_num=0, lr-Adam=0.001, loss_step=0.25, loss_epoch=0.27]
Epoch 3: 100%|██████████| 100/100 [00:01<00:00, 91.0it/s, v_num=0, lr-Adam=0.0005, loss_step=0.22, loss_epoch=0.24]
""", {"lr-Adam": [(2, 0.001), (3, 0.0005)], "loss_step": [(2, 0.25), (3, 0.22)],
      "loss_epoch": [(2, 0.27), (3, 0.24)]}),
    Sample("tqdm postfix", """\
100%|██████████| 50/50 [00:01<00:00, 45.11it/s, loss=0.25]
100%|██████████| 50/50 [00:01<00:00, 46.02it/s, loss=0.21]
""", {"loss": [(0, 0.25), (1, 0.21)]}),
    Sample("tqdm with a description and units", """\
Epoch 3: 100%|██████| 50/50 [00:01<00:00, 45.11it/s, loss=0.25, acc=0.9, mem=1.2GB]
""", {"loss": [(3, 0.25)], "acc": [(3, 0.9)], "mem_gb": [(3, 1.2)]}),
    Sample("fastai fit table", """\
epoch     train_loss  valid_loss  accuracy  time
0         0.512604    0.293291    0.876000  00:12
1         0.350000    0.250000    0.900000  00:11
""", {"train_loss": [(0, 0.512604), (1, 0.35)], "valid_loss": [(0, 0.293291), (1, 0.25)],
      "accuracy": [(0, 0.876), (1, 0.9)]}, {}, ("time",)),
    Sample("scikit-learn SGDClassifier verbose", """\
-- Epoch 1
Norm: 6.40, NNZs: 2, Bias: -0.174500, T: 100, Avg. loss: 0.571000
Total training time: 0.00 seconds.
-- Epoch 2
Norm: 6.12, NNZs: 2, Bias: -0.150200, T: 200, Avg. loss: 0.430000
Total training time: 0.01 seconds.
""", {"Norm": [(1, 6.4), (2, 6.12)], "NNZs": [(1, 2.0), (2, 2.0)], "Bias": [(1, -0.1745), (2, -0.1502)],
      "T": [(1, 100.0), (2, 200.0)], "loss": [(1, 0.571), (2, 0.43)],
      "Total_training_time_s": [(1, 0.0), (2, 0.01)]}),
    Sample("scikit-learn MLPClassifier verbose", """\
Iteration 1, loss = 0.73219470
Validation score: 0.912000
Iteration 2, loss = 0.45098713
Validation score: 0.934000
""", {"loss": [(1, 0.7321947), (2, 0.45098713)], "validation/score": [(1, 0.912), (2, 0.934)]}),
    Sample("scikit-learn GradientBoosting verbose", """\
      Iter       Train Loss   Remaining Time
         1           1.1803            0.85s
         2           1.0410            0.82s
""", {"train/Loss": [(1, 1.1803), (2, 1.041)]}, {}, ("Remaining_Time_s",)),
    Sample("XGBoost evals", """\
[0]\tvalidation_0-logloss:0.61442\tvalidation_1-logloss:0.62011
[1]\tvalidation_0-logloss:0.55012\tvalidation_1-logloss:0.56133
""", {"validation_0-logloss": [(0, 0.61442), (1, 0.55012)], "validation_1-logloss": [(0, 0.62011), (1, 0.56133)]}),
    Sample("LightGBM", """\
[LightGBM] [Info] Number of positive: 3245, number of negative: 6755
[LightGBM] [Info] Total Bins 2547
[10]\ttraining's binary_logloss: 0.45121\tvalid_1's binary_logloss: 0.50012
[20]\ttraining's binary_logloss: 0.38001\tvalid_1's binary_logloss: 0.46033
""", {"training/binary_logloss": [(10, 0.45121), (20, 0.38001)],
      "valid_1_binary_logloss": [(10, 0.50012), (20, 0.46033)]},
        {"Number_of_positive": 3245, "number_of_negative": 6755}, ("Total_Bins",)),
    Sample("CatBoost", """\
0:\tlearn: 0.6806512\ttest: 0.6812345\tbest: 0.6812345 (0)\ttotal: 58.1ms\tremaining: 58s
1:\tlearn: 0.6690011\ttest: 0.6702111\tbest: 0.6702111 (1)\ttotal: 62.3ms\tremaining: 31s
""", {"learn": [(0, 0.6806512), (1, 0.6690011)], "test": [(0, 0.6812345), (1, 0.6702111)],
      "best": [(0, 0.6812345), (1, 0.6702111)], "total_ms": [(0, 58.1), (1, 62.3)]}, {}, ("remaining_s",)),
    Sample("PyTorch MNIST example", """\
Train Epoch: 1 [0/60000 (0%)]\tLoss: 2.305400
Train Epoch: 1 [640/60000 (1%)]\tLoss: 1.359780
Test set: Average loss: 0.0470, Accuracy: 9850/10000 (98%)
""", {"Loss": [(1, 2.3054), (1, 1.35978)], "Average_loss": [(1, 0.047)]}, {}, ("Accuracy",)),
    Sample("PyTorch CIFAR tutorial", """\
[1,  2000] loss: 2.187
[1,  4000] loss: 1.852
[2,  2000] loss: 1.654
Finished Training
""", {"loss": [(0, 2.187), (1, 1.852), (2, 1.654)]}),
    Sample("pytorch-tutorial style brackets", """\
Epoch [1/5], Step [100/600], Loss: 0.2345
Epoch [1/5], Step [200/600], Loss: 0.1987
""", {"Epoch": [(100, 1.0), (200, 1.0)], "Loss": [(100, 0.2345), (200, 0.1987)]}),
    Sample("torchvision references MetricLogger", """\
Epoch: [0]  [ 0/17]  eta: 0:00:49  lr: 0.000100  loss: 2.1034 (2.1034)  time: 2.9012  data: 1.2011  max mem: 1234
Epoch: [0]  [10/17]  eta: 0:00:05  lr: 0.000100  loss: 1.8012 (1.9523)  time: 0.5101  data: 0.0102  max mem: 1240
""", {"lr": [(0, 0.0001), (0, 0.0001)], "loss": [(0, 2.1034), (0, 1.8012)], "time": [(0, 2.9012), (0, 0.5101)],
      "data": [(0, 1.2011), (0, 0.0102)], "max_mem": [(0, 1234.0), (0, 1240.0)]}),
    Sample("detectron2", """\
[05/01 10:00:00 d2.utils.events]:  eta: 0:12:34  iter: 19  total_loss: 1.234  loss_cls: 0.5  lr: 0.0002  max_mem: 2345M
[05/01 10:00:10 d2.utils.events]:  eta: 0:12:20  iter: 39  total_loss: 1.101  loss_cls: 0.45  lr: 0.0004  max_mem: 2345M
""", {"total_loss": [(19, 1.234), (39, 1.101)], "loss_cls": [(19, 0.5), (39, 0.45)],
      "lr": [(19, 0.0002), (39, 0.0004)]}, {}, ("max_mem", "eta")),
    Sample("DeepSpeed", """\
[2024-05-01 10:00:00,123] [INFO] [logging.py:96:log_dist] [Rank 0] step=10, skipped=0, lr=[0.0001], mom=[(0.9, 0.999)]
[2024-05-01 10:00:05,456] [INFO] [logging.py:96:log_dist] [Rank 0] step=20, skipped=0, lr=[0.0002], mom=[(0.9, 0.999)]
""", {"skipped": [(10, 0.0), (20, 0.0)], "lr": [(10, 0.0001), (20, 0.0002)]}, {}, ("Rank", "logging.py")),
    Sample("JAX/Flax example", """\
epoch: 1, train_loss: 0.2435, train_accuracy: 92.69, test_loss: 0.0645, test_accuracy: 97.93
epoch: 2, train_loss: 0.0587, train_accuracy: 98.19, test_loss: 0.0460, test_accuracy: 98.50
""", {"train_loss": [(1, 0.2435), (2, 0.0587)], "train_accuracy": [(1, 92.69), (2, 98.19)],
      "test_loss": [(1, 0.0645), (2, 0.046)], "test_accuracy": [(1, 97.93), (2, 98.5)]}),
    Sample("stable-baselines3 box", """\
Using cpu device
-----------------------------
| rollout/           |      |
|    ep_len_mean     | 22.5 |
|    ep_rew_mean     | 22.5 |
| time/              |      |
|    fps             | 1234 |
|    total_timesteps | 2048 |
-----------------------------
-----------------------------
| rollout/           |      |
|    ep_len_mean     | 27.1 |
|    ep_rew_mean     | 27.1 |
| time/              |      |
|    fps             | 1190 |
|    total_timesteps | 4096 |
-----------------------------
""", {"rollout/ep_len_mean": [(0, 22.5), (1, 27.1)], "rollout/ep_rew_mean": [(0, 22.5), (1, 27.1)],
      "time/fps": [(0, 1234.0), (1, 1190.0)], "time/total_timesteps": [(0, 2048.0), (1, 4096.0)]}),
    Sample("plain print with pipes and units", """\
iter 40 | loss 2.10 | time 31.2ms | mfu 4.1%
iter 50 | loss 2.01 | time 30.9ms | mfu 4.2% | mem 11.5 GB | speed 3.2it/s
""", {"loss": [(40, 2.1), (50, 2.01)], "time_ms": [(40, 31.2), (50, 30.9)], "mfu": [(40, 4.1), (50, 4.2)],
      "mem_gb": [(50, 11.5)], "speed_it_per_s": [(50, 3.2)]}),
    Sample("plain print, qualified values on one line", """\
step 500 train loss: 2.48 test loss: 2.47
epoch 3: val acc 0.91, train acc 0.95
""", {"train/loss": [(500, 2.48)], "test/loss": [(500, 2.47)], "val/acc": [(3, 0.91)], "train/acc": [(3, 0.95)]},
        {}, ("loss", "acc")),
    Sample("plain print, Epoch x/y with percent", """\
Epoch 1/10, Loss: 0.5432, Accuracy: 81.2%
Epoch 2/10, Loss: 0.4101, Accuracy: 85.0%
Final test accuracy: 0.8812
""", {"Loss": [(1, 0.5432), (2, 0.4101)], "Accuracy": [(1, 81.2), (2, 85.0)],
      "Final_test_accuracy": [(2, 0.8812)]}),
    Sample("plain print, diverged run", """\
step 1 | loss 2.5
step 2 | loss nan
step 3 | loss inf
step 4 | loss -inf
""", {"loss": [(1, 2.5), (2, NAN), (3, INF), (4, -INF)]}),
    Sample("plain print, torch tensors", """\
epoch 1 loss: tensor(0.6931, grad_fn=<NllLossBackward0>)
epoch 2 loss: tensor(0.5012, grad_fn=<NllLossBackward0>)
""", {"loss": [(1, 0.6931), (2, 0.5012)]}),
    Sample("JSON lines", """\
{"step": 10, "train": {"loss": 0.5}, "lr": 0.001, "note": "warmup"}
{"step": 20, "train": {"loss": 0.4}, "lr": 0.001, "note": "x"}
""", {"train/loss": [(10, 0.5), (20, 0.4)], "lr": [(10, 0.001), (20, 0.001)]}),
    Sample("logging module prefix", """\
2026-01-01 12:00:01,123 INFO step=5, loss=1e-3
2026-01-01 12:00:02,456 INFO step=6, loss=9e-4
""", {"loss": [(5, 0.001), (6, 0.0009)]}),
    Sample("setup only: numbers, versions, paths and prose", """\
Using device: cuda:0
Python 3.11.7, torch 2.3.1
Loaded 50000 training images from /data/cifar-10
vocab size: 27
dataset: 32033 examples
number of parameters: 729
batch size: 32
seed: 1337
Downloading 3 files
took 3.5s
version 1.2.3 released
Saved checkpoint to runs/exp12/model_final.pt
""", {}, {"vocab_size": 27, "dataset": 32033, "number_of_parameters": 729, "batch_size": 32},
        ("device", "seed", "took_s", "Loaded", "Downloading", "version")),
]
