"""What the deploy tools Paddle users run need from an export: the served graph,
`inference.yml` (PaddleX 3, `tools/infer.py`) and `inference_cls.yaml` (PaddleClas 2.x).

PaddleX 3 (`paddlex.create_model(model_name=..., model_dir=...)`) and PaddleClas's deploy
predictor read RGB images, resize, crop and normalise them as `PreProcess.transform_ops`
says, run the program and take the top-k of its output as scores. So the export

- names a model PaddleX knows (`Global.model_name`: `Infer.model_name`, or the PaddleX name
  of the architecture, or `DEFAULT_DEPLOY_NAME`; PaddleX dispatches on it to its image
  classification predictor, nothing else depends on it);
- always writes a `ResizeImage` (to the training input size when the Eval transforms have
  no Resize), a `NormalizeImage` with `channel_num` and one mean/std per fed channel, and
  `ToCHWImage`;
- puts the softmax in the graph (`Infer.softmax`, on by default), so the scores are
  probabilities;
- gives a grey-scale model an input adapter (`Infer.rgb_input`, on by default): the graph
  takes RGB and converts it to grey with the ITU-R BT.601 weights OpenCV's
  `IMREAD_GRAYSCALE` uses, which is how the training data were read. Because the weights sum
  to 1 and the grey mean/std are repeated per channel, grey(normalise(rgb)) equals
  normalise(grey(rgb)).
"""
from __future__ import annotations

import paddle

from ..errors import OptionError

DEFAULT_DEPLOY_NAME = "ResNet18"
# Suite architectures PaddleX 3.7 lists as image classification models (its
# modules/image_classification/model_list.py), and the two suite aliases of its names.
_PADDLEX_KNOWN = {
    "ResNet18", "ResNet34", "ResNet50", "ResNet101", "ResNet152",
    *(f"MobileNetV1_x{w}" for w in ("0_25", "0_5", "0_75", "1_0")),
    *(f"MobileNetV2_x{w}" for w in ("0_25", "0_5", "1_0", "1_5", "2_0")),
    *(f"MobileNetV3_{size}_x{w}" for size in ("large", "small")
      for w in ("0_35", "0_5", "0_75", "1_0", "1_25")),
}
PADDLEX_NAMES = {**{name: name for name in _PADDLEX_KNOWN},
                 "MobileNetV1": "MobileNetV1_x1_0", "MobileNetV2": "MobileNetV2_x1_0"}
GREY_WEIGHTS = (0.299, 0.587, 0.114)  # R, G, B: BT.601, as cv2.COLOR_RGB2GRAY
# The Global keys PaddleClas's deploy predictor (deploy/python/predict_cls.py) reads besides
# the model directory and the images (as in its deploy/configs/inference_cls.yaml).
PADDLECLAS_GLOBAL = {"batch_size": 1, "use_gpu": False, "enable_mkldnn": True,
                     "cpu_num_threads": 4, "ir_optim": True, "use_fp16": False,
                     "use_tensorrt": False, "gpu_mem": 8000, "enable_profile": False,
                     "enable_benchmark": False}


class DeployNet(paddle.nn.Layer):
    """The trained network as it is served: optional RGB-to-grey input, optional softmax."""

    def __init__(self, net, rgb_to_grey: bool, softmax: bool):
        super().__init__()
        self.net, self.rgb_to_grey, self.softmax = net, rgb_to_grey, softmax

    def forward(self, x):
        if self.rgb_to_grey:
            x = (x[:, 0:1] * GREY_WEIGHTS[0] + x[:, 1:2] * GREY_WEIGHTS[1]
                 + x[:, 2:3] * GREY_WEIGHTS[2])
        out = self.net(x)
        return paddle.nn.functional.softmax(out, axis=-1) if self.softmax else out


def fed_channels(channels: int, infer: dict) -> int:
    """Channels of the exported graph's input."""
    return 3 if channels == 1 and infer["rgb_input"] else channels


def deploy_name(arch_name: str, infer: dict) -> str:
    """The `Global.model_name` PaddleX dispatches the export on."""
    return infer["model_name"] or PADDLEX_NAMES.get(arch_name, DEFAULT_DEPLOY_NAME)


def deploy_name_reason(arch_name: str, infer: dict) -> str:
    """Why the export carries the name `deploy_name` gives, in words for the user."""
    if infer["model_name"]:
        return "from Infer.model_name"
    if arch_name in PADDLEX_NAMES:
        return f"PaddleX's name for {arch_name}"
    return (f"PaddleX has no {arch_name}; any image-classification name makes PaddleX run "
            "the exported graph as it is; Infer.model_name sets another")


def deploy_ops(transforms: list, fed: int, input_hw: tuple[int, int]) -> list:
    """Translate the Eval transforms into deploy `transform_ops` for `fed` input channels."""
    ops, normalize = [], None
    for item in transforms:
        name, options = next(iter(item.items()))
        if name == "Resize":
            size = options["size"]
            ops.append({"ResizeImage": {"resize_short": size} if isinstance(size, int)
                        else {"size": [size[1], size[0]]}})
        elif name == "CenterCrop":
            size = options["size"]
            ops.append({"CropImage": {"size": size if isinstance(size, int) else list(size)}})
        elif name == "Normalize":
            normalize = (list(options["mean"]), list(options["std"]))
        elif name != "ToCHW":
            raise OptionError(f"DataLoader.Eval.transforms: {name} cannot be expressed in a "
                              "deploy pre-processing (supported: Resize, CenterCrop, Normalize).")
    if not any("ResizeImage" in op for op in ops):
        ops.insert(0, {"ResizeImage": {"size": [input_hw[1], input_hw[0]]}})
    mean, std = normalize or ([0.0], [1.0])
    ops.append({"NormalizeImage": {"scale": 1 / 255.0, "mean": _per_channel(mean, fed),
                                   "std": _per_channel(std, fed), "order": "",
                                   "channel_num": fed}})
    return ops + [{"ToCHWImage": None}]


def _per_channel(values: list, fed: int) -> list:
    return [float(v) for v in (values * fed if len(values) == 1 else values)]


def inference_yml(cfg: dict, class_names: list[str], input_shape) -> dict:
    """`inference.yml`: the deploy description PaddleX 3 and tools/infer.py read (plus the
    suite's input shape); paddleclas_yml() turns it into PaddleClas's."""
    section = cfg["DataLoader"]["Eval"] or cfg["DataLoader"]["Train"]
    infer = cfg["Infer"]
    fed = fed_channels(input_shape[0], infer)
    shape = [fed, *input_shape[1:]]
    return {"Global": {"model_name": deploy_name(cfg["Arch"]["name"], infer),
                       "input_shape": shape,
                       "output": "probabilities" if infer["softmax"] else "logits",
                       "trained_channels": input_shape[0]},
            "PreProcess": {"transform_ops": deploy_ops(section["transforms"], fed,
                                                       tuple(input_shape[1:]))},
            "PostProcess": {"Topk": {"topk": min(infer["topk"], len(class_names)),
                                     "label_list": list(class_names)}}}


def paddleclas_yml(description: dict) -> dict:
    """PaddleClas's deploy config (`inference_cls.yaml`) for the same export: its predictor
    does not read `inference.yml`, wants these Global keys and a `main_indicator` (which
    PaddleX, reading `inference.yml`, would reject). `infer_imgs` is given on its command
    line (`-o Global.infer_imgs=<image or folder>`). `inference_model_dir` is `.`, so the
    export can be moved: run PaddleClas's predictor in the export's folder (or pass
    `-o Global.inference_model_dir=<folder>`); an absolute path would follow no move, or
    serve a stale copy left at the old place."""
    return {"Global": {"infer_imgs": "./images", "inference_model_dir": ".",
                       **PADDLECLAS_GLOBAL},
            "PreProcess": description["PreProcess"],
            "PostProcess": {"main_indicator": "Topk", **description["PostProcess"]}}
