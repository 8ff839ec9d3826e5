"""`python -m translate ...` (and `torchrun -m translate ...`): the command-line entry point.

The only place in translate/ that reaches the CLI, and only when run as a program."""
import importlib

if __name__ == "__main__":
    importlib.import_module("translate.cli").main()
