"""`python -m kerasboost`: the `kerasboost` command (`kerasboost.cli`)."""

import sys

from kerasboost.cli import main

if __name__ == "__main__":
    sys.exit(main())
