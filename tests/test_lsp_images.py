"""`gitexp/images` through the real server: the images real `gitexp run`s logged (logx's
`add_image`, and a plain TensorBoard writer's image summaries in a folder of its own), per run,
tag and step, as data URIs; a run without images answers none; bad params are one line."""

from __future__ import annotations

import base64

import pytest
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from test_lsp import client, request  # noqa: F401  (the client fixture: a server over this file's `workspace`)


TRAIN = '''\
import argparse, os
import numpy as np
import gitexp
from gitexp.logx import logx
from tensorboard.compat.proto import summary_pb2
from gitexp.track.logx import _png
from gitexp.track.tensorboard import EventWriter

p = argparse.ArgumentParser()
p.add_argument("--images", type=int, default=0)
a = p.parse_args()
gitexp.log({"loss": 1.0}, step=0)
if a.images:
    logx.initialize(tensorboard=True)
    own = EventWriter(os.path.join(os.environ["LOGDIR"], "tb"))  # as SummaryWriter("LOGDIR/tb") would
    for step in range(4):
        logx.add_image("samples", np.full((1, 2, 3), step / 4.0), step)
        h, w, c, png = _png(np.zeros((4, 5, 3)), "HWC")
        image = summary_pb2.Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=png)
        own.add_summary(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="val/recon", image=image)]), step * 10)
    logx.add_image("samples", np.ones((1, 2, 3)), 3)  # the same step again: the last one counts
    own.close()
    logx.tensorboard.close()
'''

SWEEP = """\
CMD: python train.py
HPARAMS:
  images: [0, 1]
"""


@pytest.fixture
def workspace(repo):
    repo.commit("images", **{"train.py": TRAIN, "sweep.yml": SWEEP})
    repo.gitexp("run", "--name", "shots", "sweep.yml", timeout=120)
    return repo


@pytest.mark.asyncio
async def test_images_of_logx_and_tensorboard_writers_per_tag_and_step(client: LanguageClient):
    answer = await request(client, "gitexp/images", {"runs": ["shots/images1"]})
    by_tag = {item.tag: item for item in answer.images}
    assert set(by_tag) == {"samples", "val/recon"} and answer.truncated is False
    samples = by_tag["samples"]
    assert samples.run == "shots/images1" and samples.logged == 4
    assert [s.step for s in samples.steps] == [0, 1, 2, 3]
    assert (samples.steps[0].width, samples.steps[0].height) == (3, 2)
    assert [s.step for s in by_tag["val/recon"].steps] == [0, 10, 20, 30]
    first, last = samples.steps[0].uri, samples.steps[3].uri
    assert first.startswith("data:image/png;base64,")
    assert base64.b64decode(last.split(",", 1)[1]).startswith(b"\x89PNG") and last != first

    few = await request(client, "gitexp/images", {"runs": ["shots/images1"], "maxSteps": 2})
    assert [s.step for s in {i.tag: i for i in few.images}["val/recon"].steps] == [0, 30]  # first and last

    none = await request(client, "gitexp/images", {"runs": ["shots/images0"]})
    assert none.images == []


@pytest.mark.asyncio
async def test_images_bad_params_are_one_line(client: LanguageClient):
    for params in ({"runs": []}, {"runs": "shots/images1"}, {"runs": ["nosuch/run"]},
                   {"runs": ["shots/images1"], "maxSteps": -1}):
        with pytest.raises(JsonRpcException) as error:
            await request(client, "gitexp/images", params)
        assert error.value.code == -32602 and "\n" not in error.value.message, params
