"""raft-check's front door: the ``check`` command and its subcommands, which turn ``--servers``, ``--tweak`` and the
rest into a Raft model (``models/``) and run the engine (``checker/``) on it.  The one package that knows both."""
