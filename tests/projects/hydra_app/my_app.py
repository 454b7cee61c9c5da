"""A Hydra app as Hydra's tutorial writes one: a conf/ folder with a db group, logging, no gitexp."""
import json
import logging

import hydra
from hydra.core.hydra_config import HydraConfig

log = logging.getLogger(__name__)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg):
    print("JOB " + json.dumps(list(HydraConfig.get().overrides.task)), flush=True)
    log.info("training on %s", cfg.db.name)
    for epoch in range(2):
        loss = cfg.lr * (cfg.seed + 1) / cfg.db.weight / (epoch + 1)
        print(f"epoch {epoch} loss: {loss}", flush=True)


main()
