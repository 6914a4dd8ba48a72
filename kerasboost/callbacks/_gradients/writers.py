"""GradientStatistics' writers: records to a CSV or JSONL file and to TensorBoard."""

from __future__ import annotations

import csv
import json
import os

import numpy as np


class RecordWriter:
    """Appends each record to `path` (`.csv` or `.jsonl`, or None) and, with `log_dir`, writes
    every value as a TensorBoard scalar and the per-layer gradient norms as a histogram."""

    def __init__(self, path, log_dir, layers: list[str]) -> None:
        self.path = None if path is None else str(path)
        self.layers = layers
        self.summary = None
        if log_dir is not None:
            try:
                import tensorflow as tf
            except ImportError as e:  # pragma: no cover - JAX-only installs
                raise ValueError(
                    f"`log_dir` needs TensorFlow for TensorBoard summaries. Received: log_dir={log_dir!r}"
                ) from e
            self.summary = tf.summary.create_file_writer(str(log_dir))

    def write(self, record: dict) -> None:
        if self.path is not None:
            if self.path.endswith(".jsonl"):
                with open(self.path, "a") as f:
                    f.write(json.dumps(record) + "\n")
            else:
                new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
                with open(self.path, "a", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=list(record))
                    if new:
                        writer.writeheader()
                    writer.writerow(record)
        if self.summary is not None:
            import tensorflow as tf

            with self.summary.as_default(step=record["step"]):
                for key, value in record.items():
                    if key not in ("step", "epoch"):
                        tf.summary.scalar(key, value)
                norms = [record[f"grad_norm/{n}"] for n in self.layers]
                tf.summary.histogram("grad_norm_per_layer", np.asarray(norms))

    def write_histogram(self, record: dict) -> None:
        """One layer's histogram (`edges`, `counts`) as the TensorBoard histogram `<kind>/<layer>`."""
        if self.summary is None:
            return
        import tensorflow as tf
        from tensorboard.plugins.histogram import metadata

        edges, counts = record["edges"], record["counts"]
        buckets = np.stack([edges[:-1], edges[1:], counts.astype("float64")], axis=1)
        with self.summary.as_default(step=record["step"]):
            tf.summary.write(
                f"{record['kind']}/{record['layer']}",
                tf.constant(buckets, tf.float64),
                metadata=metadata.create_summary_metadata(display_name=None, description=None),
            )

    def close(self) -> None:
        if self.summary is not None:
            self.summary.flush()
