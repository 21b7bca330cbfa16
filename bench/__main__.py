"""`make bench`: every benchmark in one run, each printing its times and ratios."""
import importlib

SUITES = ["bench.scalar_bench", "bench.tensor_bench", "bench.nn_bench"]


def main():
    for name in SUITES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            print(f"({name} not present)")
            continue
        print()
        module.main()


if __name__ == "__main__":
    main()
