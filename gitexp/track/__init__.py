"""The track wing: metrics from inside and outside a training script.

It owns the in-script logging API behind `gitexp.log` (`api`), standalone runs of scripts
started by hand (`adhoc`), runx's `logx` (`logx`), TensorBoard event files both ways
(`tensorboard`), metrics read from stdout by regex (`stdout_metrics`), checkpoints and other
artifacts (`artifacts`), and the one way a point is written to a run's series (`points`).
It feeds the record, so it imports only `record` (and `errors`).
"""
