"""The `kerasboost` command (also `python -m kerasboost`): the top floor, where the entry points live.

Subcommands:
    demo       train a deep plain network with Keras defaults and with kerasboost; compare
    doctor     diagnose a saved model on its data: the problem, the evidence, the fix (tried)
    info       versions, the Keras backend and every registered kerasboost object
    gallery    draw every learning-rate schedule into one PNG
"""

from __future__ import annotations

import argparse


def _info(args: argparse.Namespace) -> int:
    import keras

    import kerasboost
    import kerasboost.tuning
    from kerasboost.api_export import kind_of, public_exports, registered_exports

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


# The subcommands' modules (and with them Keras and TensorFlow) are imported when one runs:
# deferred for start-up cost, so that `kerasboost --help` answers at once.


def _demo(args: argparse.Namespace) -> int:
    from kerasboost.cli import demo

    return demo.run(args)


def _doctor(args: argparse.Namespace) -> int:
    from kerasboost.cli import doctor

    return doctor.run(args)


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
    from kerasboost.cli.demo import add_arguments

    add_arguments(demo)
    demo.set_defaults(run=_demo)
    doctor = commands.add_parser(
        "doctor", parents=[common], help="diagnose a saved model on its data and name the fix (--try-fixes proves it)"
    )
    from kerasboost.cli.doctor import add_arguments as doctor_arguments

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
