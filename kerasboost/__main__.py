"""The `kerasboost` command (also `python -m kerasboost`).

Subcommands:
    demo       train a deep plain network with Keras defaults and with kerasboost; compare
    doctor     diagnose a saved model on its data: the problem, the evidence, the fix (tried)
    info       versions, the Keras backend and every registered kerasboost object
    gallery    draw every learning-rate schedule into one PNG
"""

from __future__ import annotations

import argparse
import sys


def kind_of(obj) -> str:
    """What a public object is, in a user's words: the Keras base it extends, or function."""
    import inspect

    import keras

    if not inspect.isclass(obj):
        return "function"
    bases = [
        (keras.optimizers.schedules.LearningRateSchedule, "schedule"),
        (keras.optimizers.Optimizer, "optimizer"),
        (keras.callbacks.Callback, "callback"),
        (keras.Model, "model"),
        (keras.layers.Layer, "layer"),
        (keras.initializers.Initializer, "initializer"),
        (Exception, "exception"),
    ]
    for base, kind in bases:
        if issubclass(obj, base):
            return kind
    if any(c.__name__ == "HyperModel" for c in obj.__mro__):
        return "hypermodel"
    return "class"


def _info(args: argparse.Namespace) -> int:
    import keras

    import kerasboost
    from kerasboost.api_export import public_exports, registered_exports

    print(f"kerasboost {kerasboost.__version__}")
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}")
    print("  public path                                              kind         saved in .keras files as")
    registered = registered_exports()
    for path, obj in sorted(public_exports().items()):
        key = registered.get(path, "- (not serialized)")
        print(f"  {path:55s}  {kind_of(obj):11s}  {key}")
    return 0


def _gallery(args: argparse.Namespace) -> int:
    from kerasboost.diagnostics.gallery import schedule_gallery

    fig = schedule_gallery()
    fig.savefig(args.out, dpi=args.dpi, bbox_inches="tight")
    print(f"wrote {args.out}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from kerasboost import demo

    return demo.run(args)


def _doctor(args: argparse.Namespace) -> int:
    from kerasboost import doctor_command

    return doctor_command.run(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kerasboost", description=__doc__.split("\n")[0])
    verbose = "keep TensorFlow's start-up log lines (the `kerasboost` command hides them by default)"
    parser.add_argument("--verbose", action="store_true", help=verbose)
    common = argparse.ArgumentParser(add_help=False)  # --verbose after the subcommand too
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", parents=[common], help="Keras defaults vs the kerasboost recipe on a deep plain network"
    )
    from kerasboost.demo import add_arguments

    add_arguments(demo)
    demo.set_defaults(run=_demo)
    doctor = commands.add_parser(
        "doctor", parents=[common], help="diagnose a saved model on its data and name the fix (--try-fixes proves it)"
    )
    from kerasboost.doctor_command import add_arguments as doctor_arguments

    doctor_arguments(doctor)
    doctor.set_defaults(run=_doctor)
    commands.add_parser("info", parents=[common], help="versions, backend and registered objects").set_defaults(
        run=_info
    )
    gallery = commands.add_parser("gallery", parents=[common], help="plot every learning-rate schedule to a PNG")
    gallery.add_argument("--out", default="schedules.png", help="the PNG to write")
    gallery.add_argument("--dpi", type=int, default=110)
    gallery.set_defaults(run=_gallery)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
