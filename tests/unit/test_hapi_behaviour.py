"""Regression tests for the paddle.Model (hapi) behaviours the suite works around.

Each test first shows the hapi behaviour on plain hapi, then that the suite's fix holds.
If a paddle upgrade changes a behaviour, the first half fails and tells us to revisit.
"""
import numpy as np
import paddle
import pytest
from paddle.callbacks import Callback

from paddle_suite.callbacks import Evaluator, ResetStopTraining
from paddle_suite.callbacks.hapi_fixes import preserved_logs
from paddle_suite.training.losses import CrossEntropy
from paddle_suite.training.metrics import Accuracy, MeanLoss


class Batches(paddle.io.Dataset):
    """Three batches whose losses differ a lot (easy, easy, hard)."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(12, 4)).astype("float32")
        self.y = rng.integers(0, 3, size=(12,)).astype("int64")
        self.x[8:] *= 40.0  # the last batch has huge logits -> huge loss

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    def __len__(self):
        return 12


def make_model(metrics):
    paddle.seed(0)
    net = paddle.nn.Linear(4, 3)
    model = paddle.Model(net, inputs=[paddle.static.InputSpec([None, 4], "float32", "x")])
    opt = paddle.optimizer.SGD(0.01, parameters=net.parameters())
    model.prepare(opt, CrossEntropy(), metrics)
    return model, net


def loader():
    return paddle.io.DataLoader(Batches(), batch_size=4, shuffle=False)


def true_mean_loss(net):
    ds = Batches()
    with paddle.no_grad():
        return float(CrossEntropy()(net(paddle.to_tensor(ds.x)), paddle.to_tensor(ds.y)))


def test_hapi_eval_loss_is_last_batch_and_meanloss_fixes_it():
    model, net = make_model([Accuracy()])
    plain = float(np.asarray(model.evaluate(loader(), verbose=0)["loss"]).reshape(-1)[0])
    with paddle.no_grad():
        ds = Batches()
        last = float(CrossEntropy()(net(paddle.to_tensor(ds.x[8:])), paddle.to_tensor(ds.y[8:])))
    assert plain == np.float32(last)                      # hapi: the last batch only
    assert abs(plain - true_mean_loss(net)) > 0.1

    model, net = make_model([Accuracy(), MeanLoss(CrossEntropy())])
    fixed = model.evaluate(loader(), verbose=0)["loss"]
    assert abs(fixed - true_mean_loss(net)) < 1e-5       # suite: the mean over all samples


class StopAtOnce(Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True


class CountEpochs(Callback):
    def on_train_begin(self, logs=None):
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def test_stop_training_is_never_reset_by_hapi_and_reset_by_the_suite():
    model, _ = make_model([])
    model.fit(loader(), epochs=3, verbose=0, callbacks=[StopAtOnce()])
    counter = CountEpochs()
    model.fit(loader(), epochs=3, verbose=0, callbacks=[counter])
    assert counter.epochs == 1                            # hapi: stale flag stops the 2nd fit
    model.fit(loader(), epochs=3, verbose=0, callbacks=[ResetStopTraining(), counter])
    assert counter.epochs == 3


class KeepLogs(Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.seen = dict(logs)


class EvalInEpochEnd(Callback):
    def __init__(self, eval_loader, fix):
        super().__init__()
        self.eval_loader, self.fix = eval_loader, fix

    def on_epoch_end(self, epoch, logs=None):
        if self.fix:
            with preserved_logs(logs):
                self.model.evaluate(self.eval_loader, verbose=0)
        else:
            self.model.evaluate(self.eval_loader, verbose=0)


def test_hapi_shares_one_logs_dict_between_train_and_eval():
    for fix in (False, True):
        model, _ = make_model([Accuracy()])
        eval_only = paddle.io.DataLoader(paddle.io.Subset(Batches(), [0, 1]), batch_size=2)
        keep = KeepLogs()
        model.fit(loader(), epochs=1, verbose=0, callbacks=[EvalInEpochEnd(eval_only, fix), keep])
        # train saw 3 batches (steps 0..2); the 1-batch eval pass leaves step 0
        assert keep.seen["step"] == (2 if fix else 0)


class CountLR(Callback):
    def __init__(self, scheduler):
        super().__init__()
        self.scheduler = scheduler

    def on_train_end(self, logs=None):
        self.final = self.scheduler.last_epoch


def test_hapi_adds_a_per_batch_lr_scheduler_unless_told_otherwise():
    for explicit, expected in ((None, 6), (paddle.callbacks.LRScheduler(False, True), 2)):
        paddle.seed(0)
        net = paddle.nn.Linear(4, 3)
        sched = paddle.optimizer.lr.StepDecay(0.1, step_size=1)
        model = paddle.Model(net)
        model.prepare(paddle.optimizer.SGD(sched, parameters=net.parameters()), CrossEntropy())
        counter = CountLR(sched)
        cbs = [counter] + ([explicit] if explicit else [])
        model.fit(loader(), epochs=2, verbose=0, callbacks=cbs)
        assert counter.final == expected  # 3 batches x 2 epochs by default; 2 when per epoch


def test_evaluator_keeps_train_metrics_across_mid_epoch_evaluations():
    metrics = [Accuracy(), MeanLoss(CrossEntropy())]
    model, _ = make_model(metrics)
    keep = KeepLogs()
    model.fit(loader(), epochs=1, verbose=0, callbacks=[keep])
    reference = keep.seen["loss"]

    metrics = [Accuracy(), MeanLoss(CrossEntropy())]
    model, _ = make_model(metrics)
    keep = KeepLogs()
    evaluator = Evaluator(loader(), [], every_epochs=0, every_steps=1, metrics=metrics)
    model.fit(loader(), epochs=1, verbose=0, callbacks=[evaluator, keep])
    assert keep.seen["loss"] == reference  # evaluating after every batch did not disturb it


def test_fit_over_zero_epochs_fails_and_end_training_runs_the_train_hooks():
    import pytest

    from paddle_suite.callbacks.hapi_fixes import end_training

    class Hooks(Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_train_begin(self, logs=None):
            self.seen.append("begin")

        def on_train_end(self, logs=None):
            self.seen.append("end")

    model, _ = make_model([Accuracy()])
    with pytest.raises(UnboundLocalError):  # hapi: on_end('train', logs) before logs exists
        model.fit(paddle.io.DataLoader(Batches(), batch_size=4), epochs=0, verbose=0)
    hooks = Hooks()
    end_training(model, [hooks], steps=3)
    assert hooks.seen == ["begin", "end"] and hooks.model is model


def test_evaluate_inside_fit_cancels_num_iters_and_preserved_num_iters_keeps_it():
    from paddle_suite.callbacks.hapi_fixes import preserved_num_iters

    class EvalEachEpoch(Callback):
        def __init__(self, keep):
            super().__init__()
            self.keep, self.batches = keep, 0

        def on_train_batch_end(self, step, logs=None):
            self.batches += 1

        def on_epoch_end(self, epoch, logs=None):
            loader = paddle.io.DataLoader(Batches(), batch_size=4)
            if self.keep:
                with preserved_num_iters(self.model):
                    self.model.evaluate(loader, verbose=0)
            else:
                self.model.evaluate(loader, verbose=0)

    counts = []
    for keep in (False, True):
        model, _ = make_model([Accuracy()])
        probe = EvalEachEpoch(keep)
        model.fit(paddle.io.DataLoader(Batches(), batch_size=4), epochs=5, num_iters=4,
                  verbose=0, callbacks=[probe])
        counts.append(probe.batches)
    assert counts == [6, 4]  # hapi: 2 whole epochs of 3 batches; fixed: the 4 asked for


def test_paddle_label_smoothing_needs_flat_integer_labels():
    """The workaround in losses.CrossEntropy: [N, 1] labels with label_smoothing fail in
    Paddle 3.3.1 (its label_smooth kernel is float-only), [N] labels work and give the
    textbook smoothed cross-entropy."""
    import paddle.nn.functional as F

    from paddle_suite.training.losses import CrossEntropy
    paddle.seed(0)
    logits, labels = paddle.randn([16, 10]), paddle.randint(0, 10, [16, 1])
    with pytest.raises(Exception, match="label_smooth"):
        F.cross_entropy(logits, labels, label_smoothing=0.1)
    flat = float(F.cross_entropy(logits, labels.reshape([-1]), label_smoothing=0.1))
    target = F.one_hot(labels.reshape([-1]), 10) * 0.9 + 0.01
    by_hand = float(-(target * F.log_softmax(logits, axis=-1)).sum(axis=-1).mean())
    assert flat == pytest.approx(by_hand, rel=1e-6)
    assert float(CrossEntropy(0.1)(logits, labels)) == pytest.approx(by_hand, rel=1e-6)
