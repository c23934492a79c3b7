"""Run inside PaddleClas's own virtual environment (with FLAGS_enable_pir_api=0): serve an
export with PaddleClas's deploy predictor configured by the export's inference_cls.yaml (run
in the export's folder, which its relative inference_model_dir names),
reading images as its deploy/python/predict_cls.py does, and print {image file name:
[top-1 label, top-1 score]} as JSON."""
import json
import os
import sys

import cv2
from paddleclas.deploy.python.predict_cls import ClsPredictor
from paddleclas.deploy.utils import config


def main(model_dir, images):
    images = [os.path.abspath(p) for p in images]
    os.chdir(model_dir)  # as the docs say: PaddleClas's predictor runs in the export's folder
    cfg = config.get_config("inference_cls.yaml", show=False)
    predictor = ClsPredictor(cfg)
    out = {}
    for path in images:
        result = predictor.predict([cv2.imread(path)[:, :, ::-1]])[0]
        out[os.path.basename(path)] = [str(result["label_names"][0]), float(result["scores"][0])]
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
