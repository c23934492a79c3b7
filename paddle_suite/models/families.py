"""Which network of the suite is nearest to one it does not have, by family: the hint an
unknown `Arch.name` gets (PaddleClas's names above all). A near network is another network:
its weights do not fit, and the hint says so."""
from __future__ import annotations

import re

from ..core.schema import suggest

# (pattern on the name, what the family is, the suite's nearest networks)
FAMILIES = [
    (r"^PPLCNetV2", "PP-LCNetV2, PaddleClas's CPU network (re-parameterised depthwise blocks)",
     "MobileNetV3_large_x1_0, ShuffleNetV2_x1_0"),
    (r"^PPLCNet", "PP-LCNet, PaddleClas's CPU network (depthwise convolutions, h-swish, SE)",
     "MobileNetV3_small_x1_0, MobileNetV3_large_x1_0"),
    (r"^PPHGNetV2", "a PP-HGNetV2 size the suite does not build (it has B0 to B4)",
     "PPHGNetV2_B4"),
    (r"^PPHGNet", "PP-HGNet, the first version of PaddleClas's GPU network (HG blocks of "
     "stacked 3x3 convolutions)", "PPHGNetV2_B2, ResNet50"),
    (r"^ResNet(\d+)_vd", "ResNet{0}_vd, PaddleClas's ResNet with the 'vd' stem (three 3x3 "
     "convolutions) and average-pool downsampling; ResNet{0} here is a different network",
     "ResNet{0}"),
    (r"^(SE_)?ResNeXt(\d+)", "ResNeXt (grouped convolutions)", "ResNet50, ResNet101"),
    (r"^(SE_ResNet|Res2Net)(\d+)", "a ResNet variant (squeeze-excitation or Res2Net blocks)",
     "ResNet50"),
    (r"^HRNet", "HRNet (parallel multi-resolution branches)", "ResNet50"),
    (r"^(GoogLeNet|Inception)", "the Inception family (parallel convolution branches)",
     "ResNet50, VGG16"),
    (r"^EfficientNet", "EfficientNet (MBConv blocks with SE)", "MobileNetV3_large_x1_0"),
    (r"^GhostNet", "GhostNet (cheap 'ghost' feature maps)", "MobileNetV3_large_x1_0"),
    (r"^ESNet", "ESNet, PaddleClas's ShuffleNet variant", "ShuffleNetV2_x1_0"),
    (r"^(DarkNet|CSP|Xception|RegNet|RedNet|DLA|HarDNet|ReXNet|TNT|DPN)",
     "a convolutional network the suite does not build", "ResNet50"),
    (r"^(ViT|DeiT|Swin|CSWin|PVT|LeViT|CvT|MobileViT|CAE|Twins|VAN|ConvNeXt|UniFormer)",
     "a vision transformer (or a network built like one); the suite builds CNNs only",
     "ResNet50"),
]


def nearest_network(name: str, known) -> str:
    """' <family>; nearest in the suite: <names> (another network: other weights)', else a
    spelling suggestion, else ''."""
    for pattern, family, nearest in FAMILIES:
        match = re.match(pattern, str(name))
        if match:
            groups = [g for g in match.groups() if g and g.isdigit()] or [""]
            near = nearest.format(*groups)
            if not all(n.strip() in known for n in near.split(",")):
                continue
            return (f": {family.format(*groups)}; nearest in the suite: {near} (another "
                    "network, so weights trained as the one asked for do not fit it)")
    return suggest(name, known)
