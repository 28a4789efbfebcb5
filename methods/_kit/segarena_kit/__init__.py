"""SegArena's method kit: what the in-repo torch methods' ``main.py`` share.

A method whose card says ``kit: true`` gets this package beside its ``main.py`` wherever it runs (in its
image, in a local job's private copy: the harness ships it with the method's code and hashes it into the
method's code hash, so a changed kit rebuilds and reruns its methods). It imports only the standard library;
torch is imported when a command runs. It never imports the harness.

    from segarena_kit import MethodError, run_method

    def train(args, device): ...      # args: data, out, val, init, params (read_params(args.params, DEFAULTS))
    def predict(args, device): ...    # args: images, model, out

    sys.exit(run_method("my_method", {"train": train, "predict": predict}))

or, for a package ``my_method/`` with ``params.load_params``, ``train.train`` and ``predict.predict_folder``
(the in-repo methods' layout), ``sys.exit(run_package("my_method"))``.
"""

from segarena_kit.cli import Command, contract_parser, run_method, run_package
from segarena_kit.errors import MethodError
from segarena_kit.params import read_params

__all__ = ["Command", "MethodError", "contract_parser", "read_params", "run_method", "run_package"]
