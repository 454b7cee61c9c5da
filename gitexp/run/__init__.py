"""The run wing: making runs happen.

It owns the launch of a sweep (`launch`), the scheduler that fills the slots (`scheduler`,
`gpus`, `ledger`), the child processes (`executor`), detached sweeps (`detach`), live
progress (`progress`), the verbs on live runs (`control`: ps, logs, kill) and the engines
that run jobs elsewhere (`backends`: Ray, Slurm/runx farms). It turns sweep specs into records,
so it may import `sweep`, `track` and `record` — never `index`, the CLI or the language server.
"""
