"""Errors a user can fix. The CLI prints them as one paragraph and exits with status 2."""


class UserError(Exception):
    """A problem in the user's input (config, data, paths), not a bug in the suite."""

    exit_code = 2


class ConfigError(UserError):
    """The configuration is malformed, inconsistent or names something unknown."""


class OptionError(UserError, ValueError):
    """An option a library function was given cannot be used. The message starts with the
    option's name: a dotted config key (`Optimizer.lr.gamma: ...`) where the function reads
    a config section, else its own argument (`decay: ...`). Only the config layer raises
    ConfigError: it reports an OptionError from a config's value as a ConfigError naming
    the file and line, or the `-o` override, that set it (`config.loader.located`)."""


class DataError(UserError):
    """A data set, file list or image cannot be used as given."""


class Preempted(Exception):
    """Training stopped on a scheduler's signal (SIGTERM, SIGUSR1) after writing a resume
    checkpoint; running the same command again continues the run (`Global.resume: auto`)."""

    exit_code = 75  # EX_TEMPFAIL (sysexits.h): a temporary failure, try again
