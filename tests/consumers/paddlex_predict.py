"""Run inside PaddleX's own virtual environment: serve an export with
`paddlex.create_model(model_name=<inference.yml's>, model_dir=<export>)` and print
{image file name: [top-1 label, top-1 score]} as JSON."""
import json
import os
import sys

import paddlex
import yaml


def main(model_dir, images):
    with open(os.path.join(model_dir, "inference.yml"), encoding="utf-8") as f:
        name = yaml.safe_load(f)["Global"]["model_name"]
    model = paddlex.create_model(model_name=name, model_dir=model_dir)
    out = {}
    for result in model.predict(images, batch_size=8):
        out[os.path.basename(result["input_path"])] = [str(result["label_names"][0]),
                                                      float(result["scores"][0])]
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
