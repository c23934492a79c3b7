"""Saliency maps for images with a trained model:
python tools/interpret.py -c configs/lenet.yaml -o Global.pretrained_model=logs/lenet_mnist/<run>
    --method smoothgrad --images digits/ [--out interpret/] [--layer NAME] [--target CLASS]
    [--backend suite|interpretdl]
Methods: gradient, smoothgrad, intgrad, gradcam, scorecam, occlusion, lime (the suite's own,
the default backend); with --backend interpretdl (optional, see the README):
smoothgrad, occlusion, scorecam."""
import sys

from paddle_suite.cli import base_parser, quiet_paddle, run, single_process


def main(argv=None):
    parser = base_parser(__doc__)
    parser.add_argument("--method", default="smoothgrad", help="saliency method (see above)")
    parser.add_argument("--images", nargs="+", required=True,
                        help="image files, directories or glob patterns")
    parser.add_argument("--out", default="logs/interpret", help="output directory")
    parser.add_argument("--layer", help="conv layer for gradcam/scorecam (default: see docs)")
    parser.add_argument("--target", type=int, help="class to explain (default: the predicted)")
    parser.add_argument("--backend", default="suite", choices=("suite", "interpretdl"),
                        help="whose implementation computes the maps (default: suite)")
    args = parser.parse_args(argv)
    single_process("tools/interpret.py")
    quiet_paddle()
    from paddle_suite import load_config
    from paddle_suite.interpret.run import interpret_images
    from paddle_suite.runs.checkpoint import weights_path
    cfg = load_config(args.config, args.override)
    if cfg["Global"]["pretrained_model"]:
        print(f"weights: {weights_path(cfg['Global']['pretrained_model'])}")
    result = interpret_images(cfg, args.method, args.images, args.out, args.layer, args.target,
                              args.backend)
    for row in result["written"]:
        print(f"{row['output']}  (class {row['class']}, p={row['probability']:.3f})")
    for row in result["failed"]:
        print(f"skipped {row['image']}: {row['error']}", file=sys.stderr)
    print(f"{len(result['written'])} saliency maps in {args.out}; VisualDL: "
          f"python tools/serve_visualdl.py --logdir {args.out}")


if __name__ == "__main__":
    sys.exit(run(main))
