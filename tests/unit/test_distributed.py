"""The decisions behind data-parallel runs, as pure functions, and the LR scaling rule."""
import socket

import pytest

from paddle_suite import ConfigError, load_config
from paddle_suite.cluster.distributed import (
    DistributedError,
    World,
    current_world,
    master_endpoint,
    per_device_batch_size,
    rank_seed,
    shuffle_epoch,
    wait_for_master,
)
from paddle_suite.errors import OptionError
from paddle_suite.lifecycle.engine import batch_sizes, build
from paddle_suite.training.optim import scaled_learning_rate

from ..conftest import LENET, tiny_overrides


def test_world_from_the_launchers_environment():
    assert current_world({}) == World(0, 1, 0)
    world = current_world({"PADDLE_TRAINER_ID": "3", "PADDLE_TRAINERS_NUM": "4",
                           "PADDLE_RANK_IN_NODE": "1"})
    assert (world.rank, world.size, world.local_rank, world.primary) == (3, 4, 1, False)
    with pytest.raises(DistributedError, match="PADDLE_TRAINER_ID=4 is not a rank of"):
        current_world({"PADDLE_TRAINER_ID": "4", "PADDLE_TRAINERS_NUM": "4"})
    with pytest.raises(DistributedError, match="malformed"):
        current_world({"PADDLE_TRAINERS_NUM": "two"})


def test_per_device_batch_from_the_global_batch():
    section = {"batch_size": 32, "global_batch_size": None}
    assert per_device_batch_size(section, World(0, 4)) == 32  # batch_size is per device
    section["global_batch_size"] = 256
    assert per_device_batch_size(section, World(0, 1)) == 256
    assert per_device_batch_size(section, World(1, 4)) == 64
    with pytest.raises(OptionError, match=r"256 does not split evenly over the 3 processes.*"
                                          r"e\.g\. 255 or 258"):
        per_device_batch_size(section, World(0, 3))


def test_seeds_differ_per_rank_and_repeat_per_epoch():
    assert rank_seed(42, 0, 1) != rank_seed(42, 1, 1)
    assert rank_seed(42, 1, 1) != rank_seed(42, 1, 2)
    assert rank_seed(42, 1, 2) == rank_seed(42, 1, 2)
    assert shuffle_epoch(42, 3) == shuffle_epoch(42, 3) != shuffle_epoch(7, 3)
    assert shuffle_epoch(None, 3) == 3


def test_linear_and_sqrt_scaling_rules():
    assert scaled_learning_rate(0.1, 1024, None) == 0.1
    assert scaled_learning_rate(0.1, 1024, 256) == pytest.approx(0.4)
    assert scaled_learning_rate(0.1, 1024, 256, "sqrt") == pytest.approx(0.2)


def test_master_endpoint_follows_paddles_order():
    assert master_endpoint({"MASTER_ADDR": "10.0.0.2", "MASTER_PORT": "6170",
                            "PADDLE_MASTER": "10.0.0.9:1"}) == ("10.0.0.2", 6170)
    assert master_endpoint({"PADDLE_MASTER": "10.0.0.9:8090"}) == ("10.0.0.9", 8090)
    assert master_endpoint({"PADDLE_TRAINER_ENDPOINTS": "10.0.0.3:6070,10.0.0.4:6070"}) == \
        ("10.0.0.3", 6070)
    with pytest.raises(DistributedError, match="No usable master endpoint"):
        master_endpoint({})


def test_waiting_for_a_closed_port_ends_with_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(DistributedError, match=rf"Rank 2 could not reach the master "
                                                   rf"127\.0\.0\.1:{port} within 0\.5 s"):
            wait_for_master("127.0.0.1", port, 0.5, "Rank 2")


def test_waiting_for_a_listening_master_returns():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        wait_for_master("127.0.0.1", s.getsockname()[1], 2.0, "Rank 1")


def test_lr_scaled_to_the_batch_per_update(tmp_path):
    cfg = load_config(LENET, tiny_overrides(tmp_path, **{
        "Optimizer.lr.base_batch_size": 64, "Optimizer.lr.name": "Constant",
        "Optimizer.lr.learning_rate": 0.001, "DataLoader.Train.global_batch_size": 128,
        "Optimizer.accumulate_steps": 2}))
    assert batch_sizes(cfg, World(0, 2)) == {"per_device": 64, "processes": 2, "global": 128,
                                             "per_update": 256}
    built = build(cfg)
    assert built.batch["per_update"] == 256  # one process here: 128 x 2 accumulated
    assert built.optimizer.get_lr() == pytest.approx(0.004)


@pytest.mark.parametrize("item, message", [
    ("DataLoader.Train.global_batch_size=0", "global_batch_size: must be at least 1"),
    ("Optimizer.lr.base_batch_size=0", "base_batch_size: must be at least 1"),
    ("Optimizer.lr.scale_rule=cubic", "scale_rule"),
    ("Global.dist_timeout=0", "dist_timeout: must be a positive number"),
])
def test_bad_distributed_keys(tmp_path, item, message):
    with pytest.raises(ConfigError, match=message):
        load_config(LENET, tiny_overrides(tmp_path) + [item])


def test_front_door_reads_the_launcher_flags():
    from paddle_suite import UserError
    from paddle_suite.lifecycle.launch import launcher_flags, plan, split_command

    flags, command = split_command(["--nnodes", "2", "--master", "10.0.0.1:8090", "--devices",
                                    "0,1", "tools/train.py", "-c", "a.yaml"])
    assert command == ["tools/train.py", "-c", "a.yaml"]
    job = plan(launcher_flags(flags), gpus=4)
    assert (job.per_node, job.nodes, job.processes) == (2, 2, 4)
    assert plan(launcher_flags(["--nproc_per_node", "3"]), gpus=0).processes == 3
    assert plan(launcher_flags([]), gpus=0).processes == 1
    with pytest.raises(UserError, match="there is no device 4"):
        plan(launcher_flags(["--devices", "0,4"]), gpus=2)
    with pytest.raises(UserError, match="name the training script"):
        split_command(["--nproc_per_node", "2"])


def test_front_door_knows_when_this_machine_hosts_the_master():
    from paddle_suite.lifecycle.launch import check_master, is_this_machine

    assert is_this_machine("127.0.0.1") and is_this_machine("localhost")
    assert not is_this_machine("no.such.host.invalid")
    check_master("127.0.0.1:1", nodes=2, timeout=0.1)  # hosted here: nothing to wait for
    from paddle_suite import UserError
    with pytest.raises(UserError, match="expected <ip>:<port>"):
        check_master("10.0.0.1", nodes=2, timeout=0.1)


def test_epoch_seeds_split_augmentation_streams_but_not_the_shuffle():
    """Drive the callback by hand as two ranks: same sampler epoch, different random draws."""
    import numpy as np
    import paddle

    from paddle_suite.callbacks.data_parallel import EpochSeeds

    draws, epochs = {}, {}
    for rank in (0, 1):
        sampler = paddle.io.DistributedBatchSampler(list(range(10)), 2, num_replicas=2,
                                                    rank=rank, shuffle=True)
        callback = EpochSeeds(sampler, seed=42, world=World(rank, 2))
        callback.set_params({})
        callback.on_epoch_begin(3)
        draws[rank] = (np.random.rand(), float(paddle.rand([])))
        epochs[rank] = sampler.epoch
        callback.on_epoch_begin(3)  # a resumed run re-enters the epoch with the same streams
        assert (np.random.rand(), float(paddle.rand([]))) == draws[rank]
    assert epochs[0] == epochs[1]
    assert draws[0][0] != draws[1][0] and draws[0][1] != draws[1][1]


def test_a_lost_peer_is_named_as_such_and_other_errors_are_left_alone():
    from paddle_suite.cluster.distributed import PeerLost, peer_lost
    gloo = RuntimeError("[/paddle/third_party/gloo/gloo/transport/tcp/pair.cc:576] Read error "
                        "[10.231.0.2]:11691: Connection reset by peer")
    lost = peer_lost(gloo, World(0, 2))
    assert isinstance(lost, PeerLost) and lost.exit_code == 75
    assert "rank 0 of 2: another process of the job was lost" in str(lost)
    assert "Global.resume: auto" in str(lost)
    assert peer_lost(gloo, World(0, 1)) is None  # one process has no peers
    assert peer_lost(RuntimeError("shape mismatch"), World(0, 2)) is None
    assert peer_lost(ValueError("Connection reset by peer"), World(0, 2)) is None


def test_sync_batch_norm_has_no_cpu_kernel_so_the_option_is_refused_on_cpu(tiny_cfg):
    """Why Arch.sync_bn is GPU only. If the first half fails, paddle's CPU build gained the
    kernel and the option can be allowed on CPU."""
    import paddle

    from paddle_suite.lifecycle.engine import build
    paddle.set_device("cpu")
    with pytest.raises(RuntimeError, match="sync_batch_norm"):
        paddle.nn.SyncBatchNorm(4)(paddle.randn([2, 4, 3, 3]))
    cfg = tiny_cfg(**{"Arch": "{name: SmallCNN, class_num: 2, channels: [4, 8], "
                              "batch_norm: true, sync_bn: true}", "Global.device": "cpu"})
    with pytest.raises(ConfigError, match="Arch.sync_bn: SyncBatchNorm needs a GPU") as info:
        build(cfg)  # the library's OptionError, located by the config layer
    assert "(set by the override -o Arch=" in str(info.value)
