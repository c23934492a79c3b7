"""Predict classes of image files with an exported model (Paddle Inference):
python tools/infer.py --model-dir logs/lenet_mnist/<run>/inference --images digits/ [--out preds.json]"""
import argparse
import sys

from paddle_suite.cli import quiet_paddle, run, run_path, single_process


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True, help="an exported model directory")
    parser.add_argument("--images", nargs="+", required=True,
                        help="image files, directories or glob patterns")
    parser.add_argument("--topk", type=int, help="how many classes per image (default: yml)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", help="write the predictions to FILE.json or FILE.csv")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    args = parser.parse_args(argv)
    single_process("tools/infer.py")
    quiet_paddle()
    from paddle_suite.deploy.predictor import infer_images, write_results
    from paddle_suite.errors import UserError
    from paddle_suite.interpret.run import expand_images
    report = infer_images(run_path(args.model_dir), expand_images(args.images), args.batch_size, args.topk)
    for row in report["results"]:
        hits = ", ".join(f"{h['label']} {h['score']:.3f}" for h in row["topk"])
        print(f"{row['image']}: {hits}")
    for row in report["failed"]:
        print(f"skipped {row['error']}", file=sys.stderr)
    if not report["results"]:
        raise UserError(f"No image could be predicted ({len(report['failed'])} skipped, "
                        "see the messages above); nothing was written.")
    if args.out:
        write_results(report["results"], args.out)
        print(f"wrote {len(report['results'])} predictions to {args.out}")


if __name__ == "__main__":
    sys.exit(run(main))
