"""Hyper-parameter search on Optuna: every trial is an ordinary `train()` run in-process.

A search config names a base training config, overrides applied to every trial, the study
(sampler, pruner, budgets, storage) and the space (read and checked by config/search_file.py):

    base: ../lenet.yaml
    overrides: [Global.epochs=4]
    study: {name: lenet_lr_wd, sampler: random, n_trials: 9, metric: acc, pruner: median}
    space:
      Optimizer.lr.learning_rate: {type: loguniform, low: 1.0e-4, high: 1.0e-1}
      Optimizer.regularizer.coeff: {type: loguniform, low: 1.0e-6, high: 1.0e-2}

A trial's value is the best eval value of `metric` over its epochs (`study.score: final`:
its last evaluation). With `study.seeds: [1, 2, 3]` a trial is a seed group
(lifecycle/seeds.py: `trial-NNN/seed-S/`) and its value is the mean, for differences
smaller than a seed moves the result (the pruner acts on the first seed's run; the others
run whole). `study.baseline: true` makes the base config's own values a trial (queued
once), so the starting point is scored the same way. The study lives in
`<output_dir>/<study name>/study.db` (SQLite) unless `storage` names a database; an
interrupted search resumes there, its stale running trials marked failed.
"""
from __future__ import annotations

import csv
import logging
import re
from functools import partial
from pathlib import Path

from ..callbacks.monitor import infer_mode
from ..callbacks.pruning import Pruning
from ..config.loader import load_config
from ..config.search_space import overrides_for
from ..errors import UserError
from ..lifecycle.engine import train

log = logging.getLogger("paddle_suite")


def hide_password(url: str) -> str:
    """A storage URL with its password replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _suggest(trial, key: str, spec: dict):
    kind = spec["type"]
    if kind in ("categorical", "grid"):
        return trial.suggest_categorical(key, spec["choices"] if kind == "categorical"
                                         else spec["values"])
    if kind == "int":
        return trial.suggest_int(key, int(spec["low"]), int(spec["high"]),
                                 step=int(spec["step"] or 1), log=spec["log"])
    return trial.suggest_float(key, spec["low"], spec["high"], step=spec["step"],
                               log=kind == "loguniform" or spec["log"])


def _objective(search: dict, output_dir: str):
    import optuna
    study_opts = search["study"]
    metric, mode = study_opts["metric"], infer_mode(study_opts["metric"])

    def objective(trial):
        params = {key: _suggest(trial, key, spec) for key, spec in search["space"].items()}
        chosen = [o for k, v in params.items() for o in overrides_for(k, v)]
        trial_overrides = (["Report=false"] + search["overrides"] + chosen  # the search's
                           + [f"Global.experiment={study_opts['name']}",   # overrides may
                              f"Global.run_name=trial-{trial.number:03d}",  # turn it back on
                              f"Global.output_dir={output_dir}",
                              f"Callbacks.Checkpoint.monitor={metric}"])
        pruning = Pruning(partial(_report, trial, study_opts["pruner"]), metric)
        if study_opts["seeds"]:
            values = _train_seed_group(search, trial, trial_overrides, pruning)
        else:
            result = train(load_config(search["base"], trial_overrides), callbacks=[pruning])
            _record(trial, [result])
            values = [run_value(result.history, metric, mode, study_opts["score"])]
        if pruning.pruned:
            raise optuna.TrialPruned(pruning.stop_reason)
        return sum(values) / len(values)
    return objective, mode


def _report(trial, pruner: str, value: float, epoch: int) -> bool:
    """Report an evaluation to Optuna; True when the trial should stop."""
    trial.report(value, epoch)
    return pruner != "none" and trial.should_prune()


def _record(trial, results) -> None:
    trial.set_user_attr("run_dir", str(results[0].run_dir))
    trial.set_user_attr("epochs_trained", sum(len(r.history) for r in results))


def _train_seed_group(search: dict, trial, trial_overrides: list[str], pruning) -> list[float]:
    """Train the trial once per `study.seeds` as a seed group (seeds.train_seeds):
    `<study>/trial-<n>/seed-<s>/` and its group.json, as `tools/train.py` does for
    `Global.seeds`, so `tools/compare.py` reads trials as it reads groups. The pruner watches
    the first seed's run; a pruned trial trains no other seed. Returns each seed's value."""
    from ..lifecycle.seeds import train_seeds
    opts = search["study"]
    metric, mode = opts["metric"], infer_mode(opts["metric"])
    seeds = "[" + ", ".join(str(s) for s in opts["seeds"]) + "]"
    cfg = load_config(search["base"], trial_overrides + [f"Global.seeds={seeds}"])
    _, _, results = train_seeds(lambda more: load_config(search["base"], trial_overrides + more),
                                [], cfg, callbacks_for=lambda i: [pruning] if i == 0 else [],
                                keep_going=lambda result: not pruning.pruned)
    runs = list(results.values())
    _record(trial, runs)
    values = [run_value(r.history, metric, mode, opts["score"]) for r in runs]
    trial.set_user_attr("seed_values", values)
    trial.set_user_attr("run_dirs", [str(r.run_dir) for r in runs])
    return values


def run_value(history: list[dict], metric: str, mode: str, score: str) -> float:
    """One run's value of `metric`: its best evaluation (`score: best`) or its last."""
    values = [r[f"eval_{metric}"] for r in history if f"eval_{metric}" in r]
    if not values:
        raise UserError(f"study.metric: the trials produce no eval {metric!r}.")
    if score == "final":
        return values[-1]
    return max(values) if mode == "max" else min(values)


def _sampler(opts: dict, space: dict):
    import optuna
    if opts["sampler"] == "grid":
        grid = {k: s["values"] if s["type"] == "grid" else s["choices"] for k, s in space.items()}
        make = partial(optuna.samplers.GridSampler, grid)
    elif opts["sampler"] == "random":
        make = optuna.samplers.RandomSampler
    else:  # constant_liar: running trials count as bad, so parallel workers spread out
        make = partial(optuna.samplers.TPESampler, constant_liar=True,
                       n_startup_trials=max(2, opts["startup_trials"]))
    return per_trial_seed(make, opts["seed"])


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial `number` of a study seeded with `seed`."""
    import numpy as np
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


def per_trial_seed(make, seed: int):
    """A sampler reseeded from (study seed, trial number) before each trial.

    Workers sharing a study with the same seed would otherwise draw the same parameters;
    trial numbers are unique in the study, so every trial draws differently, and a trial's
    draw still repeats for the same seed and history."""
    import optuna

    class PerTrialSeed(optuna.samplers.BaseSampler):
        def __init__(self):
            self.inner = make(seed=seed)

        def before_trial(self, study, trial):
            self.inner = make(seed=trial_seed(seed, trial.number))
            self.inner.before_trial(study, trial)

        def infer_relative_search_space(self, study, trial):
            return self.inner.infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self.inner.sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self.inner.sample_independent(study, trial, param_name, param_distribution)

        def after_trial(self, study, trial, state, values):
            self.inner.after_trial(study, trial, state, values)

        def reseed_rng(self):
            self.inner.reseed_rng()

    return PerTrialSeed()


def _pruner(opts: dict):
    import optuna
    if opts["pruner"] == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=opts["startup_trials"],
                                           n_warmup_steps=opts["warmup_epochs"])
    if opts["pruner"] == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=opts["warmup_epochs"])
    return optuna.pruners.NopPruner()


def lost_table_race(exc: Exception) -> bool:
    """Whether `exc` is what a worker sees when another one created the study tables first:
    an IntegrityError, a "relation ... already exists" (PostgreSQL's DuplicateTable arrives
    as a ProgrammingError, SQLite's as an OperationalError) or a locked SQLite file."""
    text = str(exc)
    return type(exc).__name__ == "IntegrityError" or "already exists" in text or (
        type(exc).__name__ == "OperationalError" and "locked" in text)


def _storage(optuna, url: str, opts: dict, attempts: int = 5):
    """Open an RDB storage with heartbeats: a running trial whose worker stops beating for
    `grace_period` seconds is failed by the next worker, never while it is alive. Workers
    starting together race to create the tables; the loser gets an IntegrityError and
    simply tries again once the tables exist (`lost_table_race`). SQLite waits for a busy
    file."""
    import time
    extra = {"engine_kwargs": {"connect_args": {"timeout": 60}}} if url.startswith("sqlite") \
        else {}
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, heartbeat_interval=opts["heartbeat"],
                                              grace_period=opts["grace_period"], **extra)
        except Exception as exc:  # noqa: BLE001 - any driver error means the same to the user
            if lost_table_race(exc) and attempt + 1 < attempts:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise UserError(f"study.storage: cannot open {hide_password(url)}: "
                            f"{type(exc).__name__}: {hide_password(str(exc)).splitlines()[0]}") \
                from None


def open_study(search: dict, output_dir: str):
    """Create or reopen the study; stale RUNNING trials of a crashed search become FAIL."""
    try:
        import optuna
    except ImportError:
        raise UserError("The search needs Optuna: pip install optuna") from None
    import warnings
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    opts = search["study"]
    folder = Path(output_dir) / opts["name"]
    folder.mkdir(parents=True, exist_ok=True)
    url = opts["storage"] or f"sqlite:///{(folder / 'study.db').resolve()}"
    storage = _storage(optuna, url, opts)
    mode = infer_mode(opts["metric"])
    study = optuna.create_study(storage=storage, study_name=opts["name"], load_if_exists=True,
                                sampler=_sampler(opts, search["space"]), pruner=_pruner(opts),
                                direction="maximize" if mode == "max" else "minimize")
    for number in stale_trials(study):
        log.warning("search: trial %d was left running by a worker that stopped; marked "
                    "failed", number)
    if search.get("baseline"):  # once per study, whichever worker comes first
        study.enqueue_trial(search["baseline"], user_attrs={"baseline": True},
                            skip_if_exists=True)
    return study, folder


def stale_trials(study) -> list[int]:
    """Fail the running trials whose worker stopped beating; return their numbers."""
    import optuna
    running = {t.number for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,))}
    optuna.storages.fail_stale_trials(study)
    still = {t.number for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,))}
    return sorted(running - still)


def run_search(search: dict, output_dir: str = "logs") -> dict:
    """Run the trials; write the ranked table, the best config and the plots."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study, folder = open_study(search, output_dir)
    objective, _ = _objective(search, output_dir)
    opts = search["study"]
    study.optimize(objective, n_trials=opts["n_trials"], timeout=opts["timeout"],
                   catch=(UserError,))
    return write_outputs(study, search, folder)


def write_outputs(study, search: dict, folder: Path) -> dict:
    """trials.csv / trials.md ranked, best_config.yaml, and PNG plots."""
    import optuna
    trials = study.get_trials()
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
    ranked = sorted(done, key=lambda t: t.value, reverse=reverse) + \
        [t for t in trials if t.state != optuna.trial.TrialState.COMPLETE]
    keys = list(search["space"])
    rows = [{"rank": i + 1 if t.state == optuna.trial.TrialState.COMPLETE else "",
             "trial": t.number, "state": t.state.name,
             "value": "" if t.value is None else round(t.value, 6),
             "epochs_trained": t.user_attrs.get("epochs_trained", ""),
             **({"seed_values": " ".join(f"{v:.6g}" for v in t.user_attrs.get("seed_values", []))}
                if search["study"]["seeds"] else {}),
             **({"baseline": "yes" if t.user_attrs.get("baseline") else ""}
                if search.get("baseline") else {}),
             **{k: t.params.get(k, "") for k in keys}, "run_dir": t.user_attrs.get("run_dir", "")}
            for i, t in enumerate(ranked)]
    with open(folder / "trials.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["trial"])
        writer.writeheader()
        writer.writerows(rows)
    header = list(rows[0]) if rows else ["trial"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows]
    (folder / "trials.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = {"folder": str(folder), "trials": len(trials), "completed": len(done),
           "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in trials),
           "epochs_trained": sum(int(t.user_attrs.get("epochs_trained", 0)) for t in trials)}
    if done:
        best = ranked[0]
        cfg = load_config(search["base"], search["overrides"]
                          + [o for k, v in best.params.items() for o in overrides_for(k, v)])
        (folder / "best_config.yaml").write_text(
            f"# best trial {best.number} of study {search['study']['name']}: "
            f"{search['study']['metric']} = {best.value:.6g}\n" + cfg.to_yaml(), encoding="utf-8")
        out.update(best_value=best.value, best_params=best.params,
                   best_run=best.user_attrs.get("run_dir"))
        _plots(study, folder)
    return out


def _plots(study, folder: Path) -> None:
    import warnings

    from optuna.visualization import matplotlib as ovm

    from ..visual.plots import pyplot, save_figure
    pyplot()
    plots = {"optimization_history": ovm.plot_optimization_history,
             "param_importances": ovm.plot_param_importances,
             "parallel_coordinate": ovm.plot_parallel_coordinate}
    for name, plot in plots.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ax = plot(study)
            except (ValueError, RuntimeError) as exc:  # e.g. importances need 2+ trials
                log.info("plot %s skipped: %s", name, exc)
                continue
        save_figure(ax.figure if hasattr(ax, "figure") else ax[0].figure, folder / f"{name}.png")
