"""Export a trained model for Paddle Inference and verify it:
python tools/export_model.py -c configs/lenet.yaml -o Global.pretrained_model=logs/lenet_mnist/<run>
Writes <run>/inference/ (inference/ beside other weights; or Global.save_inference_dir, or --out):
inference.json + inference.pdiparams (Paddle 3, PaddleX), inference.pdmodel (the same graph for
PaddleClas 2.x and other pre-PIR consumers), inference.yml, weights.safetensors."""
import json
import sys

from paddle_suite.cli import base_parser, quiet_paddle, run, single_process


def main(argv=None):
    parser = base_parser(__doc__)
    parser.add_argument("--out", help="output directory (default: <run>/inference)")
    parser.add_argument("--no-legacy", dest="legacy", action="store_false",
                        help="skip the pre-Paddle-3 inference.pdmodel (saves a few seconds)")
    parser.add_argument("--onnx", action="store_true",
                        help="also convert to inference.onnx (paddle2onnx) and check it with "
                             "onnxruntime")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    args = parser.parse_args(argv)
    single_process("tools/export_model.py")
    quiet_paddle()
    from paddle_suite import load_config
    from paddle_suite.deploy.export import TOLERANCE, export_model
    report = export_model(load_config(args.config, args.override), args.out, args.legacy,
                          onnx=args.onnx)
    print(f"exported {report['weights']} -> {report['model_dir']} ({report['format']}; "
          f"PaddleX model_name {report['model_name']}: {report['model_name_reason']})")
    for row in report["checks"]:
        print(f"  {row['runtime']:>34}: max |diff| {row['max_abs_diff']:.2e} (limit {TOLERANCE:g}), "
              f"top-1 agreement {row['top1_agreement']:.4f} on {report['samples']} eval samples")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    sys.exit(run(main))
