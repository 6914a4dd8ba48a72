"""The parts of `kerasboost.callbacks.GradientStatistics`, one job per module.

- `graph`: the statistics of one step, computed inside the compiled step;
- `instrument`: the optimizer patch and ring buffer that run `graph` every recorded step;
- `records`: the host side: buffer rows to per-layer records, epoch summaries and alerts;
- `writers`: records to CSV / JSONL files and TensorBoard.
"""
