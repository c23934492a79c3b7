"""Write a bundled data set as image files, for trying a PaddleClas config or your own
pipeline on real images offline:
python tools/write_dataset.py --dataset sklearn_digits --layout paddleclas --out data/uci_digits
Layouts: paddleclas (train_list.txt, val_list.txt, label_list.txt) or imagefolder
(<split>/<class>/<n>.png). Data sets: mnist10k, sklearn_digits."""
import argparse
import sys

from paddle_suite.cli import run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="sklearn_digits", help="mnist10k or sklearn_digits")
    parser.add_argument("--layout", default="paddleclas", choices=("paddleclas", "imagefolder"))
    parser.add_argument("--out", required=True, help="a new (or empty) folder")
    parser.add_argument("--per-class", type=int, help="keep this many images per class and split")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    args = parser.parse_args(argv)
    from paddle_suite.data.write import write_dataset
    counts = write_dataset(args.dataset, args.out, args.layout, args.per_class)
    print(f"wrote {counts['train']} train and {counts['test']} test images to {args.out} "
          f"({args.layout} layout)")


if __name__ == "__main__":
    sys.exit(run(main))
